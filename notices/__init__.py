"""Notices: publishing, read receipts, subscription consents and WeChat delivery."""
