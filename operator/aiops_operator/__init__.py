"""aiops-rca: self-healing incidents for Azure Data Factory and Databricks failures."""
