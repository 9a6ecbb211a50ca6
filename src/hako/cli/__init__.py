"""The `hako` command line: docker's commands, flags, output and exit statuses, talking to
hakod through hako.client. Entry point: `hako.cli.main.main()`."""
