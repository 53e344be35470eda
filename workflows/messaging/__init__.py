"""Doctor–patient and patient–clinic messaging: conversations, messages, read state, unread emails."""
