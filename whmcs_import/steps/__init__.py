"""The import's steps, one module a topic, each reading its WHMCS tables and writing in sets (writer.sync)."""
