"""What ships the service: the export into BentoML's store, bentos, images, the base image,
Kubernetes manifests, and the `image` and `deploy` commands. The bento itself is service/."""
