"""Pure builders: settings in, plain dicts (or strings) out. No Pulumi imports, tested directly."""
