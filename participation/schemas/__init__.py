"""Input (`…Args`, `…Filter`) and output (`…Schema`) schemas of the participation domain:
`registry` and `projects`."""
