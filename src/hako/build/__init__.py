"""Building images from Dockerfiles: the parser, .dockerignore, the build context, the step
executor and its cache. Knows nothing of HTTP; the API layer drives ``builder.Builder``."""
