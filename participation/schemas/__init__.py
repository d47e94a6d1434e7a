"""Input and output schemas of the participation domain: `registry` and `projects`."""
