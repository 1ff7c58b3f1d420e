"""Channel adapters: each turns one transport's events into `Inbound` and renders `Reply`s back."""
