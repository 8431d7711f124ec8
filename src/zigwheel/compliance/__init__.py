"""Proving a wheel compliant: the wheel archive, ELF reader, policies and analysis stages."""
