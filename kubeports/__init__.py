"""kubeports: Kubernetes port tables as data, rendered into cloud security groups.

The package is the pure core (load -> validate -> resolve); it never imports pulumi.
The Pulumi shell lives in `components/` and in `kubeports.plan`.
"""
