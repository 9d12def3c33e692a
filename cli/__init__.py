"""The `closeout` command: a thin layer over the library.

`cli.main` holds the group and the one place where an operator-facing error becomes a message and
an exit code; each other module registers one group of commands on it:

    cli.load       closeout load
    cli.build      closeout build, closeout mappings
    cli.post       closeout post, status, replay, connect
    cli.run        closeout run, closeout demo
    cli.sandbox    closeout sandbox
    cli.keys       closeout keygen
    cli.check      closeout check

Exit codes: 0 everything done; 1 something failed, was held or could not be sent (or an error
with its message); 2 the command line was wrong.
"""
