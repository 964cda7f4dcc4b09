//! A fake model endpoint speaking Bedrock Converse and OpenAI chat completions (work in progress).
