"""Hand-written helpers the spec does not describe (waiting, downloading), exposed through the resources."""
