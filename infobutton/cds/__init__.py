"""CDS Hooks 2.0 (https://cds-hooks.hl7.org/2.0/): the services we offer, the hook call as a typed
value, FHIR clinical data → infobutton requests, and fetching what the EHR did not prefetch.

Everything but ``prefetch`` (which talks to the EHR's FHIR server) is pure.
"""
