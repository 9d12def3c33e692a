"""Local stand-ins for the vendor APIs closeout talks to (Toast, and later the ERPs).

Each sandbox is a real HTTP server on 127.0.0.1 that follows the vendor's published API closely
enough that a client which works against it would work against the vendor.
"""
