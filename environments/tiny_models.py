"""Tiny random-weight vision-language models, built offline: `vlmhb tiny-model llava|idefics3 OUT`, so that
the transformers backend, judges and load curves can be walked without a hub; the tests use them too.

No hub download is possible here, so each model is made from scratch: a tiny config, a byte-level
BPE tokenizer trained on a few sentences (wrapped in PreTrainedTokenizerFast with the special tokens
the processor needs), the model's slow (PIL) image processor, the processor with a chat template,
all written with save_pretrained. The weights are random, so the answers are garbage: tests check the
protocol (structure, token counts, streaming, several images), not the text.

Making one needs torch + transformers + tokenizers, which only a model environment has (PACKAGES: the
environment `vlmhb tiny-model` builds, as a transformers row of models.csv would); it runs this file with
that environment's python, and imports nothing of the orchestrator there:

    ENV_PYTHON environments/tiny_models.py llava OUT_DIR      # prints the model folder
    ENV_PYTHON environments/tiny_models.py idefics3 OUT_DIR

Importing it is cheap (the heavy imports are inside the functions), so `build_in(python, kind, dir)`
can be called from the orchestrator's venv.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

__all__ = ["KINDS", "PACKAGES", "build_in", "make_tiny_idefics3", "make_tiny_llava"]

PACKAGES = ("torch==2.13.0", "transformers", "tokenizers")
"""The environment the models are made in, and a models.csv row serves them from (torch pinned: the CPU
wheel a closed network keeps at hand is one exact version)."""

# A byte-level BPE can encode any text, so prompts never hit an unknown token.
_CORPUS = [
    "Read all the text on this page.",
    "What is the total amount on the invoice?",
    "INVOICE No. 12345 Total: 1,234.56 USD",
    "Счёт на оплату № 42 от 1 марта, итого 100 рублей.",
    "Which class does this document belong to? Answer with one word.",
    "Extract the fields as JSON: date, number, total, seller.",
    "USER: ASSISTANT: System: User: Assistant:",
]
_SEED = 1234


def _train_tokenizer(special_tokens: list[str], chat_template: str):
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers
    from transformers import PreTrainedTokenizerFast

    tok = Tokenizer(models.BPE())
    tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tok.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(
        vocab_size=400,
        special_tokens=special_tokens,
        initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
        show_progress=False,
    )
    tok.train_from_iterator(_CORPUS, trainer=trainer)
    return PreTrainedTokenizerFast(
        tokenizer_object=tok,
        bos_token="<s>",
        eos_token="</s>",
        unk_token="<unk>",
        pad_token="<pad>",
        chat_template=chat_template,
    )


def _llama_text_config(vocab_size: int, tokenizer) -> dict:
    return {
        "model_type": "llama",
        "vocab_size": vocab_size,
        "hidden_size": 32,
        "intermediate_size": 64,
        "num_hidden_layers": 2,
        "num_attention_heads": 4,
        "num_key_value_heads": 2,
        "max_position_embeddings": 2048,
        "bos_token_id": tokenizer.bos_token_id,
        "eos_token_id": tokenizer.eos_token_id,
        "pad_token_id": tokenizer.pad_token_id,
    }


def _save(model, processor, out: Path) -> Path:
    out.mkdir(parents=True, exist_ok=True)
    model.generation_config.eos_token_id = processor.tokenizer.eos_token_id
    model.generation_config.pad_token_id = processor.tokenizer.pad_token_id
    model.save_pretrained(out)
    processor.save_pretrained(out)
    return out


_LLAVA_TEMPLATE = (
    "{% for message in messages %}{{ message['role'].upper() }}: "
    "{% if message['content'] is string %}{{ message['content'] }}"
    "{% else %}{% for part in message['content'] %}"
    "{% if part['type'] == 'image' %}<image>{{ '\\n' }}"
    "{% elif part['type'] == 'text' %}{{ part['text'] }}{% endif %}"
    "{% endfor %}{% endif %}{{ '\\n' }}{% endfor %}"
    "{% if add_generation_prompt %}ASSISTANT:{% endif %}"
)


def make_tiny_llava(out_dir: str | Path) -> Path:
    """A LLaVA (CLIP vision tower + Llama) with 32x32 images, 16 image tokens, 2 layers each side."""
    import torch
    from transformers import LlavaConfig, LlavaForConditionalGeneration, LlavaProcessor
    from transformers.models.clip.image_processing_pil_clip import CLIPImageProcessorPil

    torch.manual_seed(_SEED)
    tokenizer = _train_tokenizer(["<unk>", "<pad>", "<s>", "</s>", "<image>"], _LLAVA_TEMPLATE)
    image_processor = CLIPImageProcessorPil(size={"shortest_edge": 32}, crop_size={"height": 32, "width": 32})
    # CLIP keeps a CLS token, which the "default" strategy drops: (32/8)^2 + 1 - 1 = 16 image tokens.
    processor = LlavaProcessor(
        image_processor=image_processor,
        tokenizer=tokenizer,
        patch_size=8,
        vision_feature_select_strategy="default",
        num_additional_image_tokens=1,
        chat_template=_LLAVA_TEMPLATE,
    )
    config = LlavaConfig(
        vision_config={
            "model_type": "clip_vision_model",
            "hidden_size": 32,
            "intermediate_size": 64,
            "num_hidden_layers": 2,
            "num_attention_heads": 4,
            "image_size": 32,
            "patch_size": 8,
            "projection_dim": 32,
        },
        text_config=_llama_text_config(len(tokenizer), tokenizer),
        image_token_index=tokenizer.convert_tokens_to_ids("<image>"),
        image_seq_length=16,
        vision_feature_layer=-1,
        vision_feature_select_strategy="default",
    )
    model = LlavaForConditionalGeneration(config).eval()
    return _save(model, processor, Path(out_dir))


_IDEFICS3_TEMPLATE = (
    "<|im_start|>{% for message in messages %}{{ message['role'] | capitalize }}: "
    "{% if message['content'] is string %}{{ message['content'] }}"
    "{% else %}{% for part in message['content'] %}"
    "{% if part['type'] == 'text' %}{{ part['text'] }}{% elif part['type'] == 'image' %}<image>{% endif %}"
    "{% endfor %}{% endif %}<end_of_utterance>{{ '\\n' }}{% endfor %}"
    "{% if add_generation_prompt %}Assistant:{% endif %}"
)


def make_tiny_idefics3(out_dir: str | Path) -> Path:
    """An Idefics3 (SigLIP-like vision + Llama) splitting images into 32px tiles of 4 image tokens each."""
    import torch
    from transformers import Idefics3Config, Idefics3ForConditionalGeneration, Idefics3Processor
    from transformers.models.idefics3.image_processing_pil_idefics3 import Idefics3ImageProcessorPil

    torch.manual_seed(_SEED)
    row_col = [f"<row_{i}_col_{j}>" for i in range(1, 7) for j in range(1, 7)]
    specials = [
        "<unk>",
        "<pad>",
        "<s>",
        "</s>",
        "<image>",
        "<fake_token_around_image>",
        "<global-img>",
        "<end_of_utterance>",
        *row_col,
    ]
    tokenizer = _train_tokenizer(specials, _IDEFICS3_TEMPLATE)
    # Images are resized to at most 64px and split into 32px tiles (plus one global view).
    image_processor = Idefics3ImageProcessorPil(
        size={"longest_edge": 64}, max_image_size={"longest_edge": 32}, do_image_splitting=True
    )
    # (32/8)^2 patches, merged 2x2 by the connector (scale_factor 2): 4 tokens per tile.
    processor = Idefics3Processor(
        image_processor=image_processor,
        tokenizer=tokenizer,
        image_seq_len=4,
        chat_template=_IDEFICS3_TEMPLATE,
    )
    config = Idefics3Config(
        vision_config={
            "hidden_size": 32,
            "intermediate_size": 64,
            "num_hidden_layers": 2,
            "num_attention_heads": 4,
            "image_size": 32,
            "patch_size": 8,
        },
        text_config=_llama_text_config(len(tokenizer), tokenizer),
        image_token_id=tokenizer.convert_tokens_to_ids("<image>"),
        scale_factor=2,
        pad_token_id=tokenizer.pad_token_id,
    )
    model = Idefics3ForConditionalGeneration(config).eval()
    return _save(model, processor, Path(out_dir))


KINDS = {"llava": make_tiny_llava, "idefics3": make_tiny_idefics3}


def build_in(python: str | Path, kind: str, out_dir: str | Path, timeout: float = 300) -> Path:
    """Build a tiny model with another environment's python (one with torch + transformers)."""
    if kind not in KINDS:
        raise ValueError(f"unknown tiny model {kind!r}; known: {', '.join(KINDS)}")
    done = subprocess.run(
        [str(python), str(Path(__file__).resolve()), kind, str(out_dir)],
        capture_output=True,
        text=True,
        timeout=timeout,
        env={"HF_HUB_OFFLINE": "1", "PATH": "/usr/bin:/bin", "PYTHONDONTWRITEBYTECODE": "1"},
    )
    if done.returncode != 0:
        raise RuntimeError(f"building tiny {kind} with {python} failed:\n{done.stderr[-3000:]}")
    return Path(done.stdout.strip().splitlines()[-1])


if __name__ == "__main__":
    if len(sys.argv) != 3 or sys.argv[1] not in KINDS:
        sys.exit(f"usage: python {Path(__file__).name} {{{'|'.join(KINDS)}}} OUT_DIR")
    print(KINDS[sys.argv[1]](sys.argv[2]))
