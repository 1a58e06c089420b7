"""Per-request measurement: a middleware in each worker, aggregated there and sent to gaia in
small batches over a unix datagram socket; gaia merges every worker of every generation and
shows the result in the table and, if asked, as Prometheus text."""
