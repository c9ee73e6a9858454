"""Tiny random-weight diffusers pipelines, built from configs, for tests and `bench/gpu_backends.py --tiny`.

The components follow `get_dummy_components()` in diffusers' own fast tests
(tests/pipelines/ltx/test_ltx_condition.py, wan/test_wan_image_to_video.py,
cogvideo/test_cogvideox.py, stable_diffusion/test_stable_diffusion.py, ltx2/testing_utils.py), except the text side:
those tests fetch `hf-internal-testing/tiny-random-*` from the Hub, which these machines cannot
reach, so the tokenizer is a WordLevel vocabulary built in memory and the text encoders are built
from configs. Each builder seeds torch before every component, so a model is the same bytes on
every run; `save_tiny()` writes one the way users get real weights (`save_pretrained`), so the
code under test loads it through its own `from_pretrained(folder)` path.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

TEXT_DIM = 32  # d_model of the tiny text encoders = caption_channels / text_dim of the denoisers
WORDS = "a an the of in on at and with man woman girl boy face hair coat rain night day city roof street " \
        "room window light close-up wide shot cinematic full body character reference sheet neutral background"


def reset_rng() -> None:
    """Start each component from the same random state (see the module docstring)."""
    import torch

    torch.manual_seed(0)


def tiny_tokenizer(model_max_length: int = 512):
    """A fast tokenizer over a small English vocabulary; unknown words become <unk>."""
    from tokenizers import Tokenizer
    from tokenizers.models import WordLevel
    from tokenizers.pre_tokenizers import Whitespace
    from transformers import PreTrainedTokenizerFast

    vocab = {word: index for index, word in enumerate(["<pad>", "</s>", "<unk>", *WORDS.split()])}
    tokenizer = Tokenizer(WordLevel(vocab, unk_token="<unk>"))
    tokenizer.pre_tokenizer = Whitespace()
    return PreTrainedTokenizerFast(tokenizer_object=tokenizer, pad_token="<pad>", eos_token="</s>",
                                   unk_token="<unk>", model_max_length=model_max_length)


def tiny_t5(vocab_size: int):
    from transformers import T5Config, T5EncoderModel

    reset_rng()
    config = T5Config(vocab_size=vocab_size, d_model=TEXT_DIM, d_kv=8, d_ff=37, num_layers=2, num_heads=4,
                      dropout_rate=0.0)
    return T5EncoderModel(config).eval()


def t5_text() -> dict[str, Any]:
    tokenizer = tiny_tokenizer()
    return {"tokenizer": tokenizer, "text_encoder": tiny_t5(len(tokenizer))}


def ltx_components() -> dict[str, Any]:
    """LTX-Video with a VAE compressing 4x in space and time (the real one: 32x and 8x)."""
    from diffusers import AutoencoderKLLTXVideo, FlowMatchEulerDiscreteScheduler, LTXVideoTransformer3DModel

    reset_rng()
    transformer = LTXVideoTransformer3DModel(
        in_channels=8, out_channels=8, patch_size=1, patch_size_t=1, num_attention_heads=4, attention_head_dim=8,
        cross_attention_dim=32, num_layers=1, caption_channels=TEXT_DIM,
    )
    reset_rng()
    vae = AutoencoderKLLTXVideo(
        in_channels=3, out_channels=3, latent_channels=8, block_out_channels=(8, 8, 8, 8),
        decoder_block_out_channels=(8, 8, 8, 8), layers_per_block=(1, 1, 1, 1, 1),
        decoder_layers_per_block=(1, 1, 1, 1, 1), spatio_temporal_scaling=(True, True, False, False),
        decoder_spatio_temporal_scaling=(True, True, False, False),
        decoder_inject_noise=(False, False, False, False, False), upsample_residual=(False, False, False, False),
        upsample_factor=(1, 1, 1, 1), timestep_conditioning=False, patch_size=1, patch_size_t=1,
        encoder_causal=True, decoder_causal=False,
    )
    return {"transformer": transformer, "vae": vae, "scheduler": FlowMatchEulerDiscreteScheduler(), **t5_text()}


def tiny_ltx():
    from diffusers import LTXPipeline

    return LTXPipeline(**ltx_components())


def tiny_ltx_condition():
    from diffusers import LTXConditionPipeline

    return LTXConditionPipeline(**ltx_components())


def tiny_gemma3(vocab_size: int):
    """Gemma 3 as LTX-2 uses it: only the language model's hidden states are read; the vision
    tower the class always builds is the smallest one."""
    from transformers import Gemma3Config, Gemma3ForConditionalGeneration, Gemma3TextConfig, SiglipVisionConfig

    reset_rng()
    return Gemma3ForConditionalGeneration(Gemma3Config(
        text_config=Gemma3TextConfig(vocab_size=vocab_size, hidden_size=TEXT_DIM, intermediate_size=37,
                                     num_hidden_layers=2, num_attention_heads=4, num_key_value_heads=1, head_dim=8,
                                     sliding_window=16, max_position_embeddings=512),
        vision_config=SiglipVisionConfig(hidden_size=8, intermediate_size=16, num_hidden_layers=1,
                                         num_attention_heads=2, image_size=8, patch_size=4),
        mm_tokens_per_image=4, image_token_index=vocab_size - 1,
    )).eval()


def tiny_ltx2():
    """LTX-2 (video and audio): the video VAE compresses 8x in space (patches of 4, one 2x block)
    and 2x in time (the real one: 32x and 8x), so a 32x64 clip is a few hundred tokens."""
    from diffusers import (AutoencoderKLLTX2Audio, AutoencoderKLLTX2Video, FlowMatchEulerDiscreteScheduler,
                           LTX2Pipeline, LTX2VideoTransformer3DModel)
    from diffusers.pipelines.ltx2 import LTX2TextConnectors
    from diffusers.pipelines.ltx2.vocoder import LTX2Vocoder

    tokenizer = tiny_tokenizer()
    text_encoder = tiny_gemma3(len(tokenizer))
    layers = text_encoder.config.text_config.num_hidden_layers
    reset_rng()
    transformer = LTX2VideoTransformer3DModel(
        in_channels=4, out_channels=4, patch_size=1, patch_size_t=1, num_attention_heads=2, attention_head_dim=8,
        cross_attention_dim=16, audio_in_channels=4, audio_out_channels=4, audio_num_attention_heads=2,
        audio_attention_head_dim=4, audio_cross_attention_dim=8, num_layers=2, qk_norm="rms_norm_across_heads",
        caption_channels=TEXT_DIM, rope_double_precision=False, rope_type="split",
    )
    reset_rng()
    connectors = LTX2TextConnectors(  # heads x head_dim = caption_channels
        caption_channels=TEXT_DIM, text_proj_in_factor=layers + 1, video_connector_num_attention_heads=4,
        video_connector_attention_head_dim=8, video_connector_num_layers=1,
        video_connector_num_learnable_registers=None, audio_connector_num_attention_heads=4,
        audio_connector_attention_head_dim=8, audio_connector_num_layers=1,
        audio_connector_num_learnable_registers=None, connector_rope_base_seq_len=32, rope_theta=10000.0,
        rope_double_precision=False, causal_temporal_positioning=False, rope_type="split",
    )
    reset_rng()
    vae = AutoencoderKLLTX2Video(
        in_channels=3, out_channels=3, latent_channels=4, block_out_channels=(8,), decoder_block_out_channels=(8,),
        layers_per_block=(1,), decoder_layers_per_block=(1, 1), spatio_temporal_scaling=(True,),
        decoder_spatio_temporal_scaling=(True,), decoder_inject_noise=(False, False), downsample_type=("spatial",),
        upsample_residual=(False,), upsample_factor=(1,), timestep_conditioning=False, patch_size=4, patch_size_t=1,
        encoder_causal=True, decoder_causal=False,
    )
    reset_rng()
    audio_vae = AutoencoderKLLTX2Audio(
        base_channels=4, output_channels=2, ch_mult=(1,), num_res_blocks=1, attn_resolutions=None, in_channels=2,
        resolution=32, latent_channels=2, norm_type="pixel", causality_axis="height", dropout=0.0,
        mid_block_add_attention=False, sample_rate=16000, mel_hop_length=160, is_causal=True, mel_bins=8,
    )
    reset_rng()
    vocoder = LTX2Vocoder(
        in_channels=audio_vae.config.output_channels * audio_vae.config.mel_bins, hidden_channels=32, out_channels=2,
        upsample_kernel_sizes=[4, 4], upsample_factors=[2, 2], resnet_kernel_sizes=[3], resnet_dilations=[[1, 3, 5]],
        leaky_relu_negative_slope=0.1, output_sampling_rate=16000,
    )
    return LTX2Pipeline(transformer=transformer, vae=vae, audio_vae=audio_vae, text_encoder=text_encoder,
                        tokenizer=tokenizer, connectors=connectors, vocoder=vocoder,
                        scheduler=FlowMatchEulerDiscreteScheduler())


def tiny_wan_i2v():
    """Wan 2.1 image-to-video: VAE 8x in space and 4x in time, patches of 2, a CLIP image encoder."""
    from diffusers import (AutoencoderKLWan, FlowMatchEulerDiscreteScheduler, WanImageToVideoPipeline,
                           WanTransformer3DModel)
    from transformers import CLIPImageProcessor, CLIPVisionConfig, CLIPVisionModelWithProjection

    reset_rng()
    vae = AutoencoderKLWan(base_dim=3, z_dim=16, dim_mult=[1, 1, 1, 1], num_res_blocks=1,
                           temperal_downsample=[False, True, True])
    reset_rng()
    transformer = WanTransformer3DModel(
        patch_size=(1, 2, 2), num_attention_heads=2, attention_head_dim=12, in_channels=36, out_channels=16,
        text_dim=TEXT_DIM, freq_dim=256, ffn_dim=32, num_layers=2, cross_attn_norm=True,
        qk_norm="rms_norm_across_heads", rope_max_seq_len=32, image_dim=4,
    )
    reset_rng()
    image_encoder = CLIPVisionModelWithProjection(CLIPVisionConfig(
        hidden_size=4, projection_dim=4, num_hidden_layers=2, num_attention_heads=2, image_size=32,
        intermediate_size=16, patch_size=1,
    ))
    return WanImageToVideoPipeline(
        transformer=transformer, vae=vae, scheduler=FlowMatchEulerDiscreteScheduler(shift=7.0),
        image_encoder=image_encoder, image_processor=CLIPImageProcessor(crop_size=32, size=32), **t5_text(),
    )


def tiny_cogvideox():
    """CogVideoX 1.0: VAE 8x in space and 4x in time, patches of 2."""
    from diffusers import AutoencoderKLCogVideoX, CogVideoXPipeline, CogVideoXTransformer3DModel, DDIMScheduler

    reset_rng()
    transformer = CogVideoXTransformer3DModel(
        num_attention_heads=4, attention_head_dim=8, in_channels=4, out_channels=4, time_embed_dim=2,
        text_embed_dim=TEXT_DIM, num_layers=1, sample_width=2, sample_height=2, sample_frames=9, patch_size=2,
        temporal_compression_ratio=4, max_text_seq_length=226,  # the pipeline's default max_sequence_length
    )
    reset_rng()
    vae = AutoencoderKLCogVideoX(
        in_channels=3, out_channels=3, down_block_types=("CogVideoXDownBlock3D",) * 4,
        up_block_types=("CogVideoXUpBlock3D",) * 4, block_out_channels=(8, 8, 8, 8), latent_channels=4,
        layers_per_block=1, norm_num_groups=2, temporal_compression_ratio=4,
    )
    return CogVideoXPipeline(transformer=transformer, vae=vae, scheduler=DDIMScheduler(), **t5_text())


def tiny_stable_diffusion():
    """Stable Diffusion 1.x layout (UNet, VAE 2x, CLIP text encoder); no safety checker."""
    from diffusers import AutoencoderKL, DDIMScheduler, StableDiffusionPipeline, UNet2DConditionModel
    from transformers import CLIPTextConfig, CLIPTextModel

    reset_rng()
    unet = UNet2DConditionModel(
        block_out_channels=(4, 8), layers_per_block=1, sample_size=32, in_channels=4, out_channels=4,
        down_block_types=("DownBlock2D", "CrossAttnDownBlock2D"), up_block_types=("CrossAttnUpBlock2D", "UpBlock2D"),
        cross_attention_dim=TEXT_DIM, norm_num_groups=2,
    )
    reset_rng()
    vae = AutoencoderKL(
        block_out_channels=(4, 8), in_channels=3, out_channels=3, down_block_types=("DownEncoderBlock2D",) * 2,
        up_block_types=("UpDecoderBlock2D",) * 2, latent_channels=4, norm_num_groups=2,
    )
    tokenizer = tiny_tokenizer(model_max_length=77)  # CLIP's: the pipeline pads every prompt to it
    reset_rng()
    text_encoder = CLIPTextModel(CLIPTextConfig(
        bos_token_id=0, eos_token_id=1, pad_token_id=0, hidden_size=TEXT_DIM, intermediate_size=37,
        layer_norm_eps=1e-05, num_attention_heads=4, num_hidden_layers=2, vocab_size=len(tokenizer),
        max_position_embeddings=77,
    )).eval()
    scheduler = DDIMScheduler(beta_start=0.00085, beta_end=0.012, beta_schedule="scaled_linear",
                              clip_sample=False, set_alpha_to_one=False, steps_offset=1)
    return StableDiffusionPipeline(unet=unet, vae=vae, scheduler=scheduler, text_encoder=text_encoder,
                                   tokenizer=tokenizer, safety_checker=None, feature_extractor=None,
                                   requires_safety_checker=False)


VIDEO_BUILDERS: dict[str, Callable[[], Any]] = {
    "ltx": tiny_ltx,
    "ltx-condition": tiny_ltx_condition,
    "wan-i2v": tiny_wan_i2v,
    "cogvideox": tiny_cogvideox,
}
IMAGE_BUILDERS: dict[str, Callable[[], Any]] = {"stable-diffusion": tiny_stable_diffusion}


def save_tiny(builder: Callable[[], Any], folder: Path) -> Path:
    """Build a tiny pipeline and save it as a model folder (model_index.json + one folder per component)."""
    builder().save_pretrained(folder)
    return folder
