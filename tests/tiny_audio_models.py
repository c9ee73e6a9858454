"""Tiny random-weight audio models, built from configs and saved the way users get the real ones,
so the backends' real loading and generation code runs offline in about a second.

No weights or tokenizers are downloaded: each tokenizer is built in memory from a small
vocabulary. The models say nothing sensible; tests check lengths, determinism and plumbing.
"""

from __future__ import annotations

from pathlib import Path

# MusicGen: EnCodec at 32 kHz with a hop of 8*5*4*4 = 640 samples, i.e. 50 token frames a
# second as in the real models. The number of codebooks follows from the bandwidth:
# 1200 bit/s / (50 frames/s * log2(64) bits) = 4, which must equal the decoder's num_codebooks.
MUSICGEN_CODEBOOK_SIZE = 64
MUSICGEN_WORDS = (
    "tense sad warm romantic mysterious joyful angry neutral cinematic score film piano strings "
    "cello synth drums bass quiet steady full driving sparse and bpm instrumental for the a"
).split()


def save_tiny_musicgen(folder: Path, stereo: bool = False) -> Path:
    """A random-weight MusicGen (T5 text encoder, EnCodec, decoder) and its processor in `folder`,
    as `save_pretrained` writes facebook/musicgen-small (or, stereo, musicgen-stereo-small: a mono
    EnCodec run once per channel, with a set of codebooks for each)."""
    import torch
    from transformers import (
        EncodecConfig, EncodecFeatureExtractor, MusicgenConfig, MusicgenDecoderConfig,
        MusicgenForConditionalGeneration, MusicgenProcessor, T5Config, T5Tokenizer,
    )

    vocab = [("<pad>", 0.0), ("</s>", 0.0), ("<unk>", 0.0)]
    vocab += [("\u2581" + word, -1.0) for word in MUSICGEN_WORDS]
    vocab += [(char, -5.0) for char in "abcdefghijklmnopqrstuvwxyz0123456789,.:"]
    tokenizer = T5Tokenizer(vocab=vocab, extra_ids=0)
    processor = MusicgenProcessor(
        feature_extractor=EncodecFeatureExtractor(feature_size=2 if stereo else 1, sampling_rate=32000),
        tokenizer=tokenizer,
    )
    text = T5Config(vocab_size=len(tokenizer), d_model=16, d_kv=4, d_ff=32, num_layers=1,
                    num_heads=4, dropout_rate=0.0)
    audio = EncodecConfig(sampling_rate=32000, upsampling_ratios=[8, 5, 4, 4], target_bandwidths=[1.2],
                          codebook_size=MUSICGEN_CODEBOOK_SIZE, codebook_dim=16, hidden_size=16,
                          num_filters=4, num_residual_layers=1, num_lstm_layers=1)
    # The decoder's pad/bos id is one past the codebook: the "no code yet" token.
    channels = 2 if stereo else 1
    decoder = MusicgenDecoderConfig(vocab_size=MUSICGEN_CODEBOOK_SIZE, hidden_size=16, num_hidden_layers=1,
                                    num_attention_heads=2, ffn_dim=32, num_codebooks=4 * channels,
                                    audio_channels=channels, pad_token_id=MUSICGEN_CODEBOOK_SIZE,
                                    bos_token_id=MUSICGEN_CODEBOOK_SIZE)
    config = MusicgenConfig(text_encoder=text, audio_encoder=audio, decoder=decoder)
    torch.manual_seed(0)
    model = MusicgenForConditionalGeneration(config)
    # EnCodec's codebooks start as zeros (k-means fills them in training): every code would
    # decode to the same sound, and no two seeds could differ.
    for layer in model.audio_encoder.quantizer.layers:
        layer.codebook.embed.normal_()
    model.save_pretrained(folder)
    processor.save_pretrained(folder)
    return folder


# XTTS: a one-layer GPT over a character vocabulary. The HiFi-GAN decoder and the speaker encoder
# have sizes that XTTS fixes in code (22 M parameters, a 90 MB model.pth), so the model is tiny
# only in its GPT; it still builds, saves and speaks in a few seconds on the CPU.
XTTS_CHARACTERS = "abcdefghijklmnopqrstuvwxyz0123456789.,!?'-"  # Chinese arrives as tone-numbered pinyin
XTTS_SPEAKER = "Tiny Speaker"


def save_tiny_xtts(folder: Path) -> Path:
    """A random-weight XTTS in `folder` with the files XTTS-v2 ships: config.json, model.pth,
    vocab.json and speakers_xtts.pth (one built-in speaker, XTTS_SPEAKER)."""
    import torch
    from tokenizers import Tokenizer, models
    from TTS.tts.configs.xtts_config import XttsArgs, XttsConfig
    from TTS.tts.models.xtts import Xtts

    languages = XttsConfig().languages
    specials = ["[STOP]", "[UNK]", "[SPACE]", "[START]"] + [f"[{language}]" for language in languages]
    vocab = {token: i for i, token in enumerate(specials + list(XTTS_CHARACTERS))}
    tokenizer = Tokenizer(models.BPE(vocab=vocab, merges=[], unk_token="[UNK]"))
    tokenizer.add_special_tokens(specials)
    tokenizer.save(str(folder / "vocab.json"))

    width = 32
    args = XttsArgs(
        gpt_layers=1, gpt_n_model_channels=width, gpt_n_heads=2, gpt_max_text_tokens=100,
        gpt_max_prompt_tokens=16, gpt_max_audio_tokens=40,  # at most 40 * 1024 samples: 1.9 s
        gpt_num_audio_tokens=34, gpt_start_audio_token=32, gpt_stop_audio_token=33,
        gpt_use_perceiver_resampler=True, gpt_use_masking_gt_prompt_approach=True,
        gpt_number_text_tokens=len(vocab), gpt_start_text_token=vocab["[START]"],
        gpt_stop_text_token=vocab["[STOP]"], decoder_input_dim=width, d_vector_dim=512,
    )
    config = XttsConfig(model_args=args, languages=languages)
    torch.manual_seed(0)
    model = Xtts(config)
    torch.save({"model": model.state_dict()}, folder / "model.pth")
    config.save_json(str(folder / "config.json"))
    speaker = {"gpt_cond_latent": torch.randn(1, 32, width), "speaker_embedding": torch.randn(1, 512, 1)}
    torch.save({XTTS_SPEAKER: speaker}, folder / "speakers_xtts.pth")
    return folder


def write_reference_clip(path: Path, pitch_hz: float = 140.0, seconds: float = 3.0,
                         sample_rate: int = 22050) -> Path:
    """A voice-like reference recording: a gliding harmonic tone around `pitch_hz` with
    syllable-rate loudness, as 16-bit mono WAV."""
    import wave

    import numpy as np

    t = np.arange(round(seconds * sample_rate)) / sample_rate
    pitch = pitch_hz + 15 * np.sin(2 * np.pi * 0.7 * t)
    phase = 2 * np.pi * np.cumsum(pitch) / sample_rate
    voice = sum(np.sin(k * phase) / k for k in range(1, 8))
    syllables = 0.5 + 0.5 * np.sin(2 * np.pi * 4 * t) ** 2
    pcm = (0.3 * voice / np.abs(voice).max() * syllables * 32767).astype("<i2")
    with wave.open(str(path), "wb") as wav:
        wav.setnchannels(1)
        wav.setsampwidth(2)
        wav.setframerate(sample_rate)
        wav.writeframes(pcm.tobytes())
    return path


AUDIOLDM2_WORDS = "knock door footsteps rain wind city hum room tone thunder radio static ambience background sound".split()


def save_tiny_audioldm2(folder: Path) -> Path:
    """A random-weight AudioLDM 2 pipeline (CLAP and T5 text encoders, GPT-2, projection, UNet,
    VAE, HiFi-GAN vocoder) saved as `save_pretrained` writes cvssp/audioldm2. The RoBERTa
    tokenizer is a byte-level one with no merges; the T5 one is built from words."""
    import torch
    from diffusers import AudioLDM2Pipeline, AutoencoderKL, DDIMScheduler
    from diffusers.pipelines.audioldm2 import AudioLDM2ProjectionModel, AudioLDM2UNet2DConditionModel
    from transformers import (
        ClapAudioConfig, ClapConfig, ClapFeatureExtractor, ClapModel, ClapTextConfig, GPT2Config,
        GPT2LMHeadModel, RobertaTokenizer, SpeechT5HifiGan, SpeechT5HifiGanConfig, T5Config, T5EncoderModel,
        T5Tokenizer,
    )
    from transformers.convert_slow_tokenizer import bytes_to_unicode

    specials = ["<s>", "<pad>", "</s>", "<unk>", "<mask>"]
    vocab = {token: i for i, token in enumerate(specials + sorted(set(bytes_to_unicode().values())))}
    tokenizer = RobertaTokenizer(vocab=vocab, merges=[], model_max_length=32)
    words = [("<pad>", 0.0), ("</s>", 0.0), ("<unk>", 0.0)] + [("\u2581" + w, -1.0) for w in AUDIOLDM2_WORDS]
    words += [(char, -5.0) for char in "abcdefghijklmnopqrstuvwxyz,."]
    tokenizer_2 = T5Tokenizer(vocab=words, extra_ids=0, model_max_length=32)

    torch.manual_seed(0)
    clap = ClapModel(ClapConfig(
        text_config=ClapTextConfig(vocab_size=len(vocab) + 2, hidden_size=16, intermediate_size=24,
                                   num_attention_heads=2, num_hidden_layers=1, projection_dim=16,
                                   bos_token_id=0, pad_token_id=1, eos_token_id=2, max_position_embeddings=40),
        audio_config=ClapAudioConfig(spec_size=64, window_size=4, num_mel_bins=64, intermediate_size=24,
                                     depths=[1, 1], num_attention_heads=[2, 2], num_hidden_layers=2,
                                     hidden_size=96, projection_dim=16, patch_size=2, patch_stride=2,
                                     patch_embed_input_channels=4),
        projection_dim=16))
    t5 = T5EncoderModel(T5Config(vocab_size=len(tokenizer_2), d_model=16, d_ff=24, d_kv=8, num_heads=2,
                                 num_layers=1))
    gpt2 = GPT2LMHeadModel(GPT2Config(n_embd=16, n_head=2, n_layer=1, vocab_size=64, n_ctx=64, n_positions=64))
    gpt2.config.max_new_tokens = 4
    pipeline = AudioLDM2Pipeline(
        vae=AutoencoderKL(block_out_channels=[8, 16], in_channels=1, out_channels=1, norm_num_groups=8,
                          down_block_types=["DownEncoderBlock2D"] * 2, up_block_types=["UpDecoderBlock2D"] * 2,
                          latent_channels=4),
        text_encoder=clap, text_encoder_2=t5,
        projection_model=AudioLDM2ProjectionModel(text_encoder_dim=16, text_encoder_1_dim=16, langauge_model_dim=16),
        language_model=gpt2, tokenizer=tokenizer, tokenizer_2=tokenizer_2,
        feature_extractor=ClapFeatureExtractor(feature_size=64, hop_length=7900),
        unet=AudioLDM2UNet2DConditionModel(block_out_channels=(8, 16), layers_per_block=1, norm_num_groups=8,
                                           sample_size=16, in_channels=4, out_channels=4,
                                           down_block_types=("DownBlock2D", "CrossAttnDownBlock2D"),
                                           up_block_types=("CrossAttnUpBlock2D", "UpBlock2D"),
                                           cross_attention_dim=([None, 16, 16], [None, 16, 16]),
                                           attention_head_dim=4),
        scheduler=DDIMScheduler(beta_schedule="scaled_linear", beta_start=0.00085, beta_end=0.012,
                                clip_sample=False, set_alpha_to_one=False),
        vocoder=SpeechT5HifiGan(SpeechT5HifiGanConfig(model_in_dim=8, sampling_rate=16000, upsample_initial_channel=16,
                                                      upsample_rates=[10, 4, 4], upsample_kernel_sizes=[20, 8, 8],
                                                      resblock_kernel_sizes=[3], resblock_dilation_sizes=[[1, 3]],
                                                      normalize_before=False)),
    )
    pipeline.save_pretrained(folder)
    return folder
