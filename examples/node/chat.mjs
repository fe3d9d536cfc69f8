// The official OpenAI Node SDK pointed at Switchyard: list the models, ask for a chat
// completion, stream one, and embed a sentence.
//
//   cd examples/node && npm install && node chat.mjs
//
// SWITCHYARD_BASE_URL (default http://127.0.0.1:8080/v1) and SWITCHYARD_API_KEY (a gateway
// key; any value when the gateway has no keys configured) override the defaults;
// SWITCHYARD_MODEL and SWITCHYARD_EMBEDDING_MODEL pick the models.
import OpenAI from "openai";

const client = new OpenAI({
  baseURL: process.env.SWITCHYARD_BASE_URL ?? "http://127.0.0.1:8080/v1",
  apiKey: process.env.SWITCHYARD_API_KEY ?? "unused",
  // Honoured when the gateway key allows attribution headers (or auth is off).
  defaultHeaders: { "x-switchyard-feature": "examples" },
});
const model = process.env.SWITCHYARD_MODEL ?? "gpt-4o-mini";
const messages = [{ role: "user", content: "Say hello in five words." }];

try {
  const models = await client.models.list();
  console.log(`models: ${models.data.length} listed`);

  // withResponse() exposes the HTTP response, and so the gateway's headers.
  const { data: chat, response } = await client.chat.completions
    .create({ model, messages })
    .withResponse();
  const h = response.headers;
  console.log(
    `chat: ${JSON.stringify(chat.choices[0].message.content)} (request ${h.get("x-request-id")}, ` +
      `route ${h.get("x-switchyard-route")}, model ${h.get("x-switchyard-model")}, ${chat.usage?.total_tokens} tokens)`,
  );

  const stream = await client.chat.completions.create({ model, messages, stream: true });
  process.stdout.write("stream: ");
  for await (const chunk of stream) {
    process.stdout.write(chunk.choices[0]?.delta?.content ?? "");
  }
  process.stdout.write("\n");

  const emb = await client.embeddings.create({
    model: process.env.SWITCHYARD_EMBEDDING_MODEL ?? "text-embedding-3-small",
    input: "Switchyard routes LLM traffic.",
    // The SDK asks for base64 unless told otherwise; the built-in mock provider answers
    // floats only, so ask for floats (real providers support both).
    encoding_format: "float",
  });
  console.log(`embeddings: ${emb.data.length} vector(s) of ${emb.data[0].embedding.length} dimensions`);
} catch (err) {
  if (err instanceof OpenAI.APIError) {
    // The gateway's errors use OpenAI's envelope, so the SDK decodes them.
    console.error(`gateway error: HTTP ${err.status}, code ${err.code}: ${err.message}`);
  } else {
    console.error("error:", err);
  }
  process.exitCode = 1;
}
