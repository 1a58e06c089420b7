"""Starting and reading process trees: sockets, server launch, generations, probes."""
