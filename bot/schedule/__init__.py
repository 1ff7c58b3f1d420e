"""Hearing back: what is due to whom and when (`model`), when a push may go out (`quiet`), how due
items are decided (`plan`), stored (`store`), sent (`senders`) and run (`runner`)."""
