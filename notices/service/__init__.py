"""Writes of notices, one flow per module; functions flush, and the caller commits.

- `publishing`: create, edit, schedule, publish (freezing the households reached), withdraw, read
- `subscriptions`: the consents residents give to be messaged, recorded and spent
- `delivery`: sending a published notice as WeChat subscription messages (the batch job);
  `pacing`, the per-second cap on those calls
- `events`: the listeners that publish notices by themselves when another domain reports an event
- `personal`: what notices holds about a resident, its export and its erasure
"""
