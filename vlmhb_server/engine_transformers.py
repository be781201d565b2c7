"""Transformers engine: any model that loads with AutoModelForImageTextToText + AutoProcessor.

Engine-args:
  dtype=auto|float32|bfloat16|float16     weights' dtype (default auto: the checkpoint's)
  device=auto|cpu|cuda|cuda:N|mps         where the model runs (default auto: cuda if available)
  device_map=auto|...                     instead of device: let accelerate place the model
  attn_implementation=eager|sdpa|flash_attention_2|...   (default: transformers' choice)
  max_pixels=N                            downscale (aspect kept) any image above N pixels
  max_new_tokens=N                        when a request gives no max_tokens (default 1024)
  trust_remote_code=true|false            (default false)
  warmup=true|false                       answer one tiny request (224 px white image, "Hi", 1 token)
                                          before turning healthy; if it fails, loading fails (default true)

A model given as a path is read with local_files_only; so is any model when HF_HUB_OFFLINE is set.
Decoding is greedy unless the request's temperature > 0 (then sampling with its temperature, top_p
and seed). Usage counts are the model's own: prompt_tokens = input ids including the image tokens,
completion_tokens = generated ids including a final EOS. Streaming sends the newly decoded text after
each generated token (held back only while a character's bytes are incomplete). One request at a time.
"""

from __future__ import annotations

import os
import queue
import threading
from typing import Any

from .engines import Engine, EngineArgError, Generation, parse_scalar
from .images import downscale
from .protocol import ChatRequest, Message, Part

_END = object()
DTYPES = ("auto", "float32", "bfloat16", "float16")


class TransformersEngine(Engine):
    name = "transformers"
    requires = ("torch", "transformers")
    known_args = {
        k: ""
        for k in (
            "dtype",
            "device",
            "device_map",
            "attn_implementation",
            "max_pixels",
            "max_new_tokens",
            "trust_remote_code",
            "warmup",
        )
    }

    def __init__(self, model: str, args: dict[str, str]):
        super().__init__(model, args)
        self.dtype_name = args.get("dtype", "auto")
        if self.dtype_name not in DTYPES:
            raise EngineArgError(f"dtype must be one of {DTYPES}, got {self.dtype_name!r}")
        self.device_name = args.get("device", "auto")
        try:
            self.max_pixels = int(args["max_pixels"]) if args.get("max_pixels") else None
            self.max_new_tokens = int(args.get("max_new_tokens", "1024"))
        except ValueError as e:
            raise EngineArgError(f"transformers engine-arg: {e}") from None
        self.trust_remote_code = parse_scalar(args.get("trust_remote_code", "false")) is True
        self.warmup = parse_scalar(args.get("warmup", "true")) is True
        self.model_obj = None
        self.processor = None

    def load(self) -> None:
        import torch
        import transformers
        from transformers import AutoModelForImageTextToText, AutoProcessor

        self._torch = torch
        offline = os.environ.get("HF_HUB_OFFLINE", "").lower() in ("1", "true", "yes", "on")
        common: dict[str, Any] = {"trust_remote_code": self.trust_remote_code}
        if offline or os.path.isdir(self.model):
            common["local_files_only"] = True
        dtype = "auto" if self.dtype_name == "auto" else getattr(torch, self.dtype_name)
        major, minor = (int(x) for x in transformers.__version__.split(".")[:2])
        kwargs = dict(common, **{"dtype" if (major, minor) >= (4, 56) else "torch_dtype": dtype})
        if self.args.get("attn_implementation"):
            kwargs["attn_implementation"] = self.args["attn_implementation"]
        if self.args.get("device_map"):
            kwargs["device_map"] = self.args["device_map"]

        self.processor = AutoProcessor.from_pretrained(self.model, **common)
        model = AutoModelForImageTextToText.from_pretrained(self.model, **kwargs)
        if "device_map" not in kwargs:
            model.to(self._resolve_device(torch))
        self.model_obj = model.eval()
        self.tokenizer = getattr(self.processor, "tokenizer", self.processor)
        eos = model.generation_config.eos_token_id
        self.eos_ids = set(eos if isinstance(eos, list) else [] if eos is None else [eos])
        if self.warmup:
            self._warm_up()  # a model that cannot answer this fails now, not on every sample

    def _resolve_device(self, torch) -> str:
        if self.device_name != "auto":
            return self.device_name
        if torch.cuda.is_available():
            return "cuda"
        if getattr(torch.backends, "mps", None) is not None and torch.backends.mps.is_available():
            return "mps"
        return "cpu"

    def _warm_up(self) -> None:
        from PIL import Image

        request = ChatRequest(
            model=self.model,
            images=[],
            max_tokens=1,
            messages=[Message("user", (Part("image", image=0), Part("text", text="Hi")))],
        )
        generation = self.generate(request, [Image.new("RGB", (224, 224), "white")])
        for _ in generation:
            pass
        generation.close()

    def generate(self, request: ChatRequest, images: list[Any]) -> Generation:
        torch = self._torch
        if self.max_pixels:
            images = [downscale(image, self.max_pixels) for image in images]
        messages = [
            {"role": m.role, "content": [_content_part(p, images) for p in m.parts]} for m in request.messages
        ]
        inputs = self.processor.apply_chat_template(
            messages, add_generation_prompt=True, tokenize=True, return_dict=True, return_tensors="pt"
        )
        inputs = inputs.to(self.model_obj.device, dtype=self.model_obj.dtype)
        max_new = request.max_tokens or self.max_new_tokens
        streamer = _TokenStreamer(self.tokenizer)
        cancelled = threading.Event()

        # num_beams=1: a streamer cannot follow beam search, whatever the checkpoint's generation_config says.
        gen_kwargs: dict[str, Any] = dict(
            inputs,
            max_new_tokens=max_new,
            streamer=streamer,
            num_beams=1,
            stopping_criteria=_stop_when(cancelled, torch),
        )
        if request.temperature > 0:
            gen_kwargs.update(do_sample=True, temperature=request.temperature)
            if request.top_p is not None:
                gen_kwargs["top_p"] = request.top_p
            if request.seed is not None:
                torch.manual_seed(request.seed)
        else:
            gen_kwargs["do_sample"] = False

        def run() -> None:
            try:
                self.model_obj.generate(**gen_kwargs)
            except BaseException as e:  # handed to the consumer, raised in pieces()
                streamer.error = e
            finally:
                streamer.end()

        thread = threading.Thread(target=run, name="generate", daemon=True)
        generation = Generation(
            iter(()),
            prompt_tokens=int(inputs["input_ids"].shape[1]),
            on_cancel=cancelled.set,
            on_close=lambda: thread.join() if thread.ident is not None else None,
        )

        def pieces():
            thread.start()
            while (item := streamer.queue.get()) is not _END:
                generation.completion_tokens = len(streamer.tokens)
                yield item
            thread.join()
            if streamer.error is not None:
                raise streamer.error
            tokens = streamer.tokens
            generation.completion_tokens = len(tokens)
            hit_limit = len(tokens) >= max_new and (not tokens or tokens[-1] not in self.eos_ids)
            generation.finish_reason = "length" if hit_limit else "stop"

        generation.pieces = pieces()
        return generation

    def describe(self) -> dict[str, Any]:
        import transformers

        return {
            "model_class": type(self.model_obj).__name__,
            "device": str(self.model_obj.device),
            "dtype": str(self.model_obj.dtype).removeprefix("torch."),
            "transformers_version": transformers.__version__,
            "torch_version": self._torch.__version__,
        }


def _content_part(part: Part, images: list[Any]) -> dict[str, Any]:
    if part.kind == "image":
        return {"type": "image", "image": images[part.image]}
    return {"type": "text", "text": part.text}


def _stop_when(event: threading.Event, torch):
    from transformers import StoppingCriteria, StoppingCriteriaList

    class Cancelled(StoppingCriteria):
        def __call__(self, input_ids, scores, **kwargs):
            stop = event.is_set()
            return torch.full((input_ids.shape[0],), stop, dtype=torch.bool, device=input_ids.device)

    return StoppingCriteriaList([Cancelled()])


class _TokenStreamer:
    """A generate() streamer queueing the text each new token adds (incremental detokenisation).

    Decoding a window that starts one step back keeps word-initial spaces that tokenizers drop at the
    start of a decode; text ending in U+FFFD waits for the rest of its bytes.
    """

    def __init__(self, tokenizer):
        self.tokenizer = tokenizer
        self.queue: queue.Queue = queue.Queue()
        self.tokens: list[int] = []
        self.error: BaseException | None = None
        self._prompt_seen = False
        self._prefix = 0
        self._read = 0
        self._ended = False

    def _decode(self, ids: list[int]) -> str:
        return self.tokenizer.decode(ids, skip_special_tokens=True)

    def put(self, value) -> None:
        if not self._prompt_seen:  # generate() first hands over the prompt
            self._prompt_seen = True
            return
        self.tokens.extend(int(t) for t in value.reshape(-1).tolist())
        before = self._decode(self.tokens[self._prefix : self._read])
        text = self._decode(self.tokens[self._prefix :])
        if len(text) > len(before) and not text.endswith("\ufffd"):
            self.queue.put(text[len(before) :])
            self._prefix, self._read = self._read, len(self.tokens)

    def end(self) -> None:
        if self._ended:
            return
        self._ended = True
        before = self._decode(self.tokens[self._prefix : self._read])
        rest = self._decode(self.tokens[self._prefix :])[len(before) :]
        if rest:
            self.queue.put(rest)
        self.queue.put(_END)
