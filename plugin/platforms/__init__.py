"""Shop platforms. Each sub-package implements the port in `plugin.platforms.port`."""
