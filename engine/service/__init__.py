"""`needle serve`: the JSON-lines protocol (`protocol`), its request handlers, the dispatching
`Service` and the process entry (`main`)."""
