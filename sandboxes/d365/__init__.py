"""A local stand-in for Dynamics 365 Finance & Operations: Entra ID tokens and general journals
over OData (LedgerJournalHeaders, LedgerJournalLines, $batch), with throttling and faults."""
