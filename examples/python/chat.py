"""The official OpenAI Python SDK pointed at Switchyard.

Lists the models, asks for a chat completion, streams one, and embeds a sentence.

    pip install openai
    python chat.py

SWITCHYARD_BASE_URL (default http://127.0.0.1:8080/v1) and SWITCHYARD_API_KEY (a gateway
key; any value when the gateway has no keys configured) override the defaults;
SWITCHYARD_MODEL and SWITCHYARD_EMBEDDING_MODEL pick the models.
"""

import os
import sys

import openai
from openai import OpenAI

client = OpenAI(
    base_url=os.environ.get("SWITCHYARD_BASE_URL", "http://127.0.0.1:8080/v1"),
    api_key=os.environ.get("SWITCHYARD_API_KEY", "unused"),
    # Honoured when the gateway key allows attribution headers (or auth is off).
    default_headers={"x-switchyard-feature": "examples"},
)
model = os.environ.get("SWITCHYARD_MODEL", "gpt-4o-mini")
messages = [{"role": "user", "content": "Say hello in five words."}]


def main() -> int:
    try:
        models = client.models.list()
        print(f"models: {len(models.data)} listed")

        # with_raw_response exposes the HTTP response, and so the gateway's headers.
        raw = client.chat.completions.with_raw_response.create(model=model, messages=messages)
        chat = raw.parse()
        h = raw.headers
        print(
            f"chat: {chat.choices[0].message.content!r} (request {h.get('x-request-id')}, "
            f"route {h.get('x-switchyard-route')}, model {h.get('x-switchyard-model')}, "
            f"{chat.usage.total_tokens} tokens)"
        )

        stream = client.chat.completions.create(model=model, messages=messages, stream=True)
        print("stream: ", end="")
        for chunk in stream:
            if chunk.choices:
                print(chunk.choices[0].delta.content or "", end="", flush=True)
        print()

        emb = client.embeddings.create(
            model=os.environ.get("SWITCHYARD_EMBEDDING_MODEL", "text-embedding-3-small"),
            input="Switchyard routes LLM traffic.",
            # The SDK may ask for base64; the built-in mock provider answers floats only,
            # so ask for floats (real providers support both).
            encoding_format="float",
        )
        print(f"embeddings: {len(emb.data)} vector(s) of {len(emb.data[0].embedding)} dimensions")
    except openai.APIStatusError as err:
        # The gateway's errors use OpenAI's envelope, so the SDK decodes them.
        print(f"gateway error: HTTP {err.status_code}, code {err.code}: {err.message}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
