"""Building wheels: the settings table, project discovery, the build plan and the maturin runner."""
