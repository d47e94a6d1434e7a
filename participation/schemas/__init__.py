"""Input (`…Args`, `…Filter`) and output (`…Schema`) schemas of the participation domain:
`registry`, `projects`, `privacy` (the privacy notice and residents' consent) and `timeline`
(a project's timeline: the entries' shape, and participation's own)."""
