"""One module per command (or family of commands); `hako.cli.registry` says which is where."""
