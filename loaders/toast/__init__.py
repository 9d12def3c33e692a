"""Toast: the client, the order parsing and the dlt source (`loaders.toast.source`).

Kept free of imports so that the order-fetch process (`order_fetch`) starts without loading dlt.
"""
