"""A local Sage Intacct XML gateway (DTD 3.0): sessions, GLBATCH create/read, queries, faults."""
