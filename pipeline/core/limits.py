"""The bounds on every number and string a person or an LLM can set, each with its reason.

A value comes from a hand edit of `series.yaml` or `plan/eNN.yaml`, from a screenplay, or from an
LLM (the writer's screenplays, the shot planner's drafts). Unbounded, one typo or one runaway
reply goes a long way: `duration_frames: 1000000000` renders until the disk is full, and a 1 MB
string is copied into every plan file, prompt and log that holds it. So every bound is checked
where the value enters, and refused there with a message naming the file, line and field:

- the plan models (core/models.py) carry them as Field constraints, so `microdrama review` reports
  a hand edit as `plan/e01.yaml:42: scenes[0] (e01s01).shots[1] (e01s01k02).duration_frames: ...`,
  and the JSON schemas an LLM answers in carry them as maxLength / maxItems / maximum;
- the screenplay ingest (ingest/screenplay.py) refuses a screenplay that cannot be planned within
  them, naming the screenplay's file and line, before anything is planned.

The bounds are far above what a micro-drama needs (episodes of 1-4 minutes, shots of 2-5 s, lines
of a sentence or two): they are there to stop runaways, not to judge style.

Time in the plan is integer frames, and an episode file does not know its series' fps (series.yaml
does), so the time bounds are frames at the highest fps a series may have: a shot of at most one
minute at 60 fps may last 2.5 minutes at 24 fps.
"""

from __future__ import annotations

# --- the picture -------------------------------------------------------------------------------

# Below 8 fps motion reads as a slideshow and lip sync cannot be judged.
MIN_FPS = 8
# 60 fps is the most that phones, players and the editor exports (FCP 7 XML, 24-60 fps) take;
# every other time bound is counted at this rate.
MAX_FPS = 60
# Each side of the frame, in pixels (and even, for the encoders' 4:2:0 chroma): below 16 a frame
# shows nothing (the test fixture is 144x256); 4096 is 4K DCI, more than any phone screen shows,
# and a video generator runs out of memory long before it.
MIN_FRAME_SIDE = 16
MAX_FRAME_SIDE = 4096

# --- time --------------------------------------------------------------------------------------

# A shot (and each line heard in it) lasts at most a minute at 60 fps (3600 frames; 150 s at 24
# fps). Micro-dramas cut every 2-5 s and neural video backends make clips of 2-10 s; a one-minute
# take is already a long monologue in one shot.
MAX_SHOT_FRAMES = 60 * MAX_FPS
# An episode lasts at most 15 minutes at 60 fps (54000 frames; 37.5 minutes at 24 fps): four times
# the longest micro-drama format (1-4 minutes). The voices, the music (sized by scene length) and
# the assembly all grow with it.
MAX_EPISODE_FRAMES = 15 * 60 * MAX_FPS
MAX_EPISODE_MINUTES = 15  # --episode-minutes / Episode-Minutes:, and where review warns

# --- how many ----------------------------------------------------------------------------------

# Episodes in a series: micro-drama series run 60-100 episodes; the writer asks for at most 60.
MAX_EPISODES = 200
# Scenes in an episode: a 1-4 minute episode has 3-15; 100 is a scene every 9 s of the longest
# episode allowed.
MAX_SCENES_PER_EPISODE = 100
# Shots in a scene: a dialogue scene gets about one shot per line; 200 is a shot every 4.5 s of a
# scene as long as the longest episode.
MAX_SHOTS_PER_SCENE = 200
# Shots in an episode: a cut every second of the longest episode allowed is 900; a micro-drama
# episode has 30-100. Every shot is a generator call, minutes each for neural video.
MAX_SHOTS_PER_EPISODE = 1000
# Lines heard in one shot: a shot holds one speaker's run of speeches or an overlapping exchange,
# rarely more than a few lines; 50 lines of the shortest length (0.8 s) fill the longest shot.
MAX_LINES_PER_SHOT = 50
# Lines in an episode: each line is spoken for at least 0.8 s plus a 0.25 s gap, so the longest
# episode allowed holds at most about 860.
MAX_LINES_PER_EPISODE = 1000
# Characters, and locations, in the bible: a long-running series' whole cast with walk-ons. Every
# character gets a voice and a keyframe.
MAX_BIBLE_ENTRIES = 200
# Other cue spellings of one character (MAYA, MAYA CHEN, DR. CHEN, ...).
MAX_ALIASES = 20
# Garments and accessories of one character: a costume, not an inventory.
MAX_WARDROBE_ITEMS = 20
# Characters present in a scene, and so framed in one of its shots: a vertical frame shows a
# handful of people; a party or a boardroom names a dozen. Each one framed puts their description
# into the shot's prompt.
MAX_CHARACTERS_PER_SCENE = 12
# Sound effects listed for one shot.
MAX_SFX_PER_SHOT = 20

# --- how long a text -----------------------------------------------------------------------------
# Counted in characters (code points), so a Chinese line is bounded like an English one.

# Plan ids: e01s03k02 is 9 characters; 32 leaves room for thousands of each.
MAX_ID_CHARS = 32
# Bible ids and the series slug: they are folder and file names, YAML keys and prompt words.
MAX_BIBLE_ID_CHARS = 64
# A character's or a location's name (and a cue spelling): a cue line, a heading's place.
MAX_NAME_CHARS = 100
# One-line texts: titles, scene headings, parentheticals, cue extensions, card texts, sound
# effects, backend and voice names, the language tag. The longest real scene heading is well
# under 100 characters; a card with more than 200 characters cannot be read on a phone.
MAX_LABEL_CHARS = 200
# A file path relative to the series folder (keyframes, reference clips): far beyond any sensible
# name, well under the system's PATH_MAX of 4096.
MAX_PATH_CHARS = 1024
# What is spoken in one dialogue line: about 80 s of English at the planner's 12 characters a
# second; a longer speech is a page of text, not a line of a micro-drama.
MAX_LINE_CHARS = 1000
# A paragraph: a character's or a location's visual description, the series' visual style, a
# shot's action, a scene's summary, an episode's logline. Text encoders of video generators read
# 77-512 tokens of the whole prompt; 2000 characters is about 400 English words.
MAX_DESCRIPTION_CHARS = 2000
# A shot's prompt is composed from the bible (plan/shot_prompt.py): the visual style, the framing,
# the location's name and description, each framed character's name and description, the action
# and the card text. The bound is the longest composition those bounds allow, so a composed prompt
# is never refused (names count three times: title-casing can turn one character into three; 400
# covers the fixed words), while a hand-edited prompt cannot run away.
MAX_PROMPT_CHARS = (
    3 * MAX_DESCRIPTION_CHARS + MAX_LABEL_CHARS + 3 * MAX_NAME_CHARS
    + MAX_CHARACTERS_PER_SCENE * (3 * MAX_NAME_CHARS + MAX_DESCRIPTION_CHARS + 50) + 400
)

# --- the screenplay ----------------------------------------------------------------------------

# A screenplay file: a feature film is about 250 KB of Fountain; a whole series of micro-dramas
# fits in 2 MB. Line numbers (`source_line`) are bounded by it too.
MAX_SCREENPLAY_BYTES = 2 * 1024 * 1024

# --- ranges of plan values ---------------------------------------------------------------------

# A voice's speaking rate relative to its own: beyond half or double speed, speech stops sounding
# natural on every voice backend.
MIN_VOICE_SPEED = 0.5
MAX_VOICE_SPEED = 2.0
# A voice's pitch shift, in semitones either way: an octave turns any voice into a cartoon.
MAX_VOICE_PITCH = 12.0
# A voice's median pitch: from a deep bass to a small child.
MIN_VOICE_PITCH_HZ = 50.0
MAX_VOICE_PITCH_HZ = 450.0
# A vocal tract's scale: Praat's own "Change gender" bounds are wider, but beyond these a voice
# sounds like a cartoon.
MIN_FORMANT_SHIFT = 0.7
MAX_FORMANT_SHIFT = 1.5
# A music cue's tempo: from a slow ballad to a fast chase.
MIN_TEMPO_BPM = 40
MAX_TEMPO_BPM = 200
# Seeds fit a signed 32-bit integer, which every generator and backend takes.
MAX_SEED = 2**31 - 1
# Takes recorded per shot: the fix loop's rounds (at most 10) over a few runs, and pinned ones.
MAX_TAKES = 32
