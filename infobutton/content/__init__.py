"""Topic content: importers (MedlinePlus XML, topic pages) and upstream fetchers."""
