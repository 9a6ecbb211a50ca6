"""hako.runtime: an OCI runtime (runc's command line) usable as a library; see runtime.Runtime."""
