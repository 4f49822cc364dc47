"""The official openai client against `seal serve` (base URL in argv[1], model name in argv[2]): chat,
completions, and both with stream=True. Prints one JSON object with what came back."""
import json, sys
import openai

client = openai.OpenAI(base_url=sys.argv[1] + "/v1", api_key="unused", timeout=60, max_retries=0)
model = sys.argv[2]
out = {}
chat = client.chat.completions.create(model=model, messages=[{"role": "user", "content": "Tom and Sue went to the park. They"}],
                                      temperature=0, max_tokens=16)
out["chat"] = {"object": chat.object, "text": chat.choices[0].message.content, "finish": chat.choices[0].finish_reason,
               "completion_tokens": chat.usage.completion_tokens}
comp = client.completions.create(model=model, prompt="Once upon a time", temperature=0, max_tokens=16)
out["completion"] = {"object": comp.object, "text": comp.choices[0].text, "finish": comp.choices[0].finish_reason}
chunks = list(client.chat.completions.create(model=model, messages=[{"role": "user", "content": "Tom and Sue went to the park. They"}],
                                             temperature=0, max_tokens=16, stream=True, stream_options={"include_usage": True}))
out["chat_stream"] = {"objects": sorted({c.object for c in chunks}),
                      "text": "".join((c.choices[0].delta.content or "") for c in chunks if c.choices),
                      "pieces": sum(1 for c in chunks if c.choices and c.choices[0].delta.content),
                      "finish": [c.choices[0].finish_reason for c in chunks if c.choices and c.choices[0].finish_reason],
                      "usage": [c.usage.completion_tokens for c in chunks if c.usage is not None]}
cchunks = list(client.completions.create(model=model, prompt="Once upon a time", temperature=0, max_tokens=16, stream=True))
out["completion_stream"] = {"objects": sorted({c.object for c in cchunks}), "text": "".join(c.choices[0].text for c in cchunks if c.choices),
                            "finish": [c.choices[0].finish_reason for c in cchunks if c.choices and c.choices[0].finish_reason]}
try:
    client.chat.completions.create(model="no-such-model", messages=[{"role": "user", "content": "x"}], max_tokens=2)
    out["not_found"] = None
except openai.NotFoundError as e:
    out["not_found"] = e.status_code
print(json.dumps(out))
