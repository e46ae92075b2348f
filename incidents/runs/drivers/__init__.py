"""Traffic drivers: move an endpoint's traffic for real (HAProxy, signed webhook) or only record it."""
