"""One module per ERP, each implementing posting.connectors.contract.Connector."""
