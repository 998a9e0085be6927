"""The library: the folders a user added and the files in them. The catalog of files
(`catalog`), walking folders under ignore rules (`scanner`, `ignore`), the single writer
(`lock`), keeping the index in step with the disk (`indexer`) and watching for changes
(`watcher`)."""
