"""One module per ERP, each implementing posting.erp.Connector."""
