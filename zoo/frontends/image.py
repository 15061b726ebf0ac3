"""Image frontend: PNG/JPEG bytes -> a fixed-size RGB canvas, validated in one place.

``decode`` uses TensorFlow core ops only (string ops, ``DecodeRaw``, ``DecodePng``, ``DecodeJpeg``,
``map_fn``: all servable). Before decoding anything it checks, with string ops, each row's size, its
format (magic bytes), its header structure and its dimensions, so a huge or malformed image is
refused without being decoded and a bad row decodes a 1x1 white placeholder instead, leaving the
other rows of its batch unaffected.

Picture rules:

- grayscale -> RGB by repeating the gray level; gray+alpha and RGBA (and palette PNGs with
  transparency) are composited over white; 16-bit PNGs keep their high byte (8-bit).
- The picture is resized to fit ``(height, width)`` keeping its aspect ratio (bilinear with
  antialiasing; up or down, so a 1x1 image fills a ``min(height, width)`` square), placed at the
  top-left corner, and the rest is padded with WHITE (255): the background of the digit strips and
  scanned text this is made for, and the colour transparent pixels get, so padding reads as more
  background; photos get a white letterbox.
- ``source_length`` is ``height * width``, the same for every row: every cell of a CNN grid over
  the canvas may be attended (padding is background, not masked). ``content_shape`` (an extra,
  (batch, 2) int32) gives the (rows, columns) the picture covers, e.g. to crop attention maps.

Errors (the ``error`` column; "" for a usable row):

- ``"empty: no image bytes"``
- ``"N bytes, more than the M byte limit"`` (``max_bytes``; checked first)
- ``"not a PNG or JPEG image"`` (GIF, BMP, WebP, text, ... by their first bytes)
- ``"damaged PNG (...)"`` / ``"damaged JPEG (...)"``: a header that does not parse (a truncated
  file, a bad chunk or segment, no image data, ...), with the reason in brackets
- ``"unsupported JPEG (...)"``: lossless, hierarchical, arithmetic-coded or 12-bit JPEGs, or not
  1, 3 or 4 colour components
- ``"WxH pixels, more than the M pixel limit"`` (``max_pixels``) or ``"WxH pixels, more than 65535
  pixels per side"``, from the PNG IHDR or JPEG frame header, before decoding

What string ops cannot check: a PNG whose compressed data is corrupt behind a well-formed chunk
structure (a bad CRC or zlib stream) still makes ``DecodePng`` raise ``InvalidArgumentError`` for
the whole batch (core TensorFlow has no CRC op to test it first). A truncated or corrupt JPEG scan is
recovered (missing rows are gray) as long as an end-of-image marker follows it (a JPEG without one,
e.g. a cut download, is refused as "damaged JPEG (truncated: ...)"), but a corrupt table segment
(DHT/DQT) can still raise.
``tf.image.extract_jpeg_shape`` is not used for the size check because it raises on a malformed
header; the frame header is parsed with string ops instead.
"""
from __future__ import annotations

import struct
import zlib

import tensorflow as tf

from zoo.frontends.base import Frontend, read_bytes_inputs

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"
JPEG_MAGIC = b"\xff\xd8\xff"
MAX_SIDE = 65535  # the most pixels per side (JPEG's own limit; libpng's default is higher)
MAX_SEGMENTS = 1024  # JPEG segments walked before the scan, at most
INT31_MAX = 2**31 - 1
# PNG colour type -> the bit depths it allows (IHDR rules).
PNG_DEPTHS = {0: (1, 2, 4, 8, 16), 2: (8, 16), 3: (1, 2, 4, 8), 4: (8, 16), 6: (8, 16)}

# Reasons a header check rejects an image, by code (0: fine). "{}" takes the row's value.
_REASONS = (
    "",
    "empty: no image bytes",
    "not a PNG or JPEG image",
    "damaged PNG (truncated)",
    "damaged PNG (the first chunk is not a valid IHDR header)",
    "damaged PNG (a chunk with an invalid type or length)",
    "damaged PNG (no image data)",
    "damaged PNG (a palette image without a palette)",
    "damaged JPEG (truncated before the image data)",
    "damaged JPEG (truncated: no end-of-image marker after the image data)",
    "damaged JPEG (bad marker 0x{} before the image data)",
    "damaged JPEG (a segment length below 2)",
    "damaged JPEG (no frame header before the image data)",
    "damaged JPEG (a bad frame header)",
    "damaged JPEG (two frame headers)",
    "unsupported JPEG (frame type 0x{}: lossless, hierarchical or arithmetic-coded)",
    "unsupported JPEG ({}-bit samples: only 8-bit JPEGs are read)",
    "unsupported JPEG ({} colour components: 1, 3 or 4 are read)",
    f"damaged JPEG (more than {MAX_SEGMENTS} segments before the image data)",
)
(_OK, _EMPTY, _NOT_IMAGE, _PNG_TRUNCATED, _PNG_IHDR, _PNG_CHUNK, _PNG_NO_DATA, _PNG_NO_PALETTE,
 _JPEG_TRUNCATED, _JPEG_NO_END, _JPEG_MARKER, _JPEG_LENGTH, _JPEG_NO_FRAME, _JPEG_FRAME, _JPEG_TWO_FRAMES, _JPEG_TYPE,
 _JPEG_PRECISION, _JPEG_COMPONENTS, _JPEG_TOO_MANY) = range(len(_REASONS))
_HEX = {_JPEG_MARKER, _JPEG_TYPE}  # reasons whose number is shown in hexadecimal


def _tiny_png(rgb=(255, 255, 255)) -> bytes:
    """A valid 1x1 8-bit RGB PNG of one colour (stdlib only)."""
    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    header = struct.pack(">IIBBBBB", 1, 1, 8, 2, 0, 0, 0)
    return PNG_MAGIC + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(bytes([0, *rgb]))) + chunk(b"IEND", b"")


PLACEHOLDER = _tiny_png()  # what a bad row decodes instead


def _be(raw: tf.Tensor, pos: tf.Tensor, n: int) -> tf.Tensor:
    """The big-endian unsigned n-byte integers at byte ``pos`` of each string, 0-padded past the
    end. raw (batch,) string, pos (batch,) int64 -> (batch,) int64."""
    size = tf.cast(tf.strings.length(raw, unit="BYTE"), tf.int64)
    start = tf.cast(tf.clip_by_value(pos, 0, size), tf.int32)  # substr fails past the end
    piece = tf.io.decode_raw(tf.strings.substr(raw, start, tf.fill(tf.shape(start), n)), tf.uint8,
                             fixed_length=n)  # (batch, n)
    weights = tf.constant([256 ** (n - 1 - i) for i in range(n)], tf.int64)
    return tf.reduce_sum(tf.cast(piece, tf.int64) * weights, axis=1)


def _text(raw: tf.Tensor, pos: tf.Tensor, n: int = 4) -> tf.Tensor:
    """The n bytes at ``pos`` of each string ("" past the end). (batch,) -> (batch,) string."""
    size = tf.cast(tf.strings.length(raw, unit="BYTE"), tf.int64)
    start = tf.cast(tf.clip_by_value(pos, 0, size), tf.int32)
    return tf.strings.substr(raw, start, tf.fill(tf.shape(start), n))


def _is_in(values: tf.Tensor, allowed) -> tf.Tensor:
    """(batch,) int64 -> (batch,) bool: whether each value is one of ``allowed``."""
    return tf.reduce_any(tf.equal(values[:, None], tf.constant(list(allowed), tf.int64)[None, :]), axis=1)


def _fail(reason, where, code):
    """Sets ``code`` where ``where`` holds and no earlier reason was found."""
    return tf.where(tf.equal(reason, _OK) & where, code, reason)


def parse_png_headers(raw: tf.Tensor, active: tf.Tensor) -> dict:
    """Checks the chunk structure of PNG files (``active`` rows) up to IEND, as libpng would read it
    (not the CRCs). raw (batch,) string, active (batch,) bool -> {"reason": (batch,) int32,
    "width", "height": (batch,) int64 from IHDR, "sized": (batch,) bool, whether IHDR is valid}."""
    size = tf.cast(tf.strings.length(raw, unit="BYTE"), tf.int64)
    eight = tf.fill(tf.shape(size), tf.constant(8, tf.int64))
    reason = tf.where(active, _OK, -1)  # -1: not a PNG row, untouched
    # IHDR: the first chunk, 13 bytes at 16..29.
    width, height = _be(raw, eight + 8, 4), _be(raw, eight + 12, 4)
    depth, colour = _be(raw, eight + 16, 1), _be(raw, eight + 17, 1)
    rest = _be(raw, eight + 18, 3)  # compression, filter, interlace
    reason = _fail(reason, size < 8 + 25, _PNG_TRUNCATED)
    depth_ok = tf.zeros_like(active)
    for kind, depths in PNG_DEPTHS.items():
        depth_ok = depth_ok | (tf.equal(colour, kind) & _is_in(depth, depths))
    ihdr_ok = (tf.equal(_be(raw, eight, 4), 13) & tf.equal(_text(raw, eight + 4), "IHDR") & (width > 0)
               & (height > 0) & (width <= INT31_MAX) & (height <= INT31_MAX) & depth_ok & _is_in(rest, (0, 1)))
    reason = _fail(reason, ~ihdr_ok, _PNG_IHDR)

    def body(i, pos, reason, done, has_data, has_palette):
        length, kind = _be(raw, pos, 4), _text(raw, pos + 4)
        letters = tf.io.decode_raw(kind, tf.uint8, fixed_length=4)  # (batch, 4)
        letters = tf.cast(letters, tf.int32) | 32  # lower case
        is_letters = tf.reduce_all((letters >= ord("a")) & (letters <= ord("z")), axis=1)
        walking = tf.equal(reason, _OK) & ~done
        reason = _fail(reason, walking & (pos + 12 > size), _PNG_TRUNCATED)
        reason = _fail(reason, walking & (~is_letters | (length > INT31_MAX)), _PNG_CHUNK)
        end = pos + 12 + length
        reason = _fail(reason, walking & (end > size), _PNG_TRUNCATED)
        walking = walking & tf.equal(reason, _OK)
        has_data = has_data | (walking & tf.equal(kind, "IDAT"))
        has_palette = has_palette | (walking & tf.equal(kind, "PLTE"))
        at_end = walking & tf.equal(kind, "IEND")
        reason = _fail(reason, at_end & ~has_data, _PNG_NO_DATA)
        reason = _fail(reason, at_end & tf.equal(colour, 3) & ~has_palette, _PNG_NO_PALETTE)
        return i + 1, tf.where(walking, end, pos), reason, done | at_end, has_data, has_palette

    def more(i, pos, reason, done, *_):
        return tf.reduce_any(tf.equal(reason, _OK) & ~done)  # each step moves >= 12 bytes: it ends

    false = tf.zeros_like(active)
    _, _, reason, _, _, _ = tf.while_loop(more, body, (tf.constant(0), eight, reason, false, false, false))
    return {"reason": tf.where(active, reason, _OK), "width": width, "height": height, "sized": active & ihdr_ok}


def parse_jpeg_headers(raw: tf.Tensor, active: tf.Tensor) -> dict:
    """Walks the marker segments of JPEG files (``active`` rows) from SOI to the first scan (SOS),
    checking what libjpeg's header reader refuses, reads the frame header (SOF0/1/2) and looks for
    the end-of-image marker after the scan.
    raw (batch,) string, active (batch,) bool -> {"reason": (batch,) int32, "value": (batch,) int64
    the number a reason names, "width", "height": (batch,) int64, "sized": (batch,) bool, whether a
    valid frame header was read (even if a later segment is bad)}."""
    size = tf.cast(tf.strings.length(raw, unit="BYTE"), tf.int64)
    zeros = tf.zeros_like(size)
    reason = tf.where(active, _OK, -1)  # -1: not a JPEG row, untouched
    standalone = tuple(range(0xD0, 0xD8)) + (0x01,)  # markers without a length
    with_length = (0xC4, 0xCC, 0xDB, 0xDD, 0xDC, 0xFE) + tuple(range(0xE0, 0xF0))  # DHT DAC DQT DRI DNL COM APPn
    frames = (0xC0, 0xC1, 0xC2)  # baseline, extended, progressive: what libjpeg decodes
    other_frames = (0xC3, 0xC5, 0xC6, 0xC7, 0xC9, 0xCA, 0xCB, 0xCD, 0xCE, 0xCF)

    def body(i, pos, reason, value, done, width, height, seen, sized):
        walking = tf.equal(reason, _OK) & ~done
        reason = _fail(reason, walking & (pos + 2 > size), _JPEG_TRUNCATED)
        prefix, marker = _be(raw, pos, 1), _be(raw, pos + 1, 1)
        bad_prefix = walking & tf.equal(reason, _OK) & ~tf.equal(prefix, 0xFF)
        value = tf.where(bad_prefix, prefix, value)
        reason = _fail(reason, bad_prefix, _JPEG_MARKER)
        walking = walking & tf.equal(reason, _OK)
        fill = walking & tf.equal(marker, 0xFF)  # a fill byte before a marker
        alone = walking & _is_in(marker, standalone)
        is_scan = walking & tf.equal(marker, 0xDA)
        is_frame = walking & _is_in(marker, frames)
        segment = walking & (_is_in(marker, with_length) | is_frame | is_scan)
        unsupported = walking & _is_in(marker, other_frames)
        value = tf.where(unsupported | (walking & ~fill & ~alone & ~segment), marker, value)
        reason = _fail(reason, unsupported, _JPEG_TYPE)
        reason = _fail(reason, walking & ~fill & ~alone & ~segment, _JPEG_MARKER)
        # A segment: 2 length bytes (counting themselves), all of it present.
        length = _be(raw, pos + 2, 2)
        reason = _fail(reason, segment & (pos + 4 > size), _JPEG_TRUNCATED)
        reason = _fail(reason, segment & (length < 2), _JPEG_LENGTH)
        reason = _fail(reason, segment & (pos + 2 + length > size), _JPEG_TRUNCATED)
        # The frame header: precision, height, width, components, 3 bytes per component.
        is_frame = is_frame & tf.equal(reason, _OK)
        precision, components = _be(raw, pos + 4, 1), _be(raw, pos + 9, 1)
        frame_h, frame_w = _be(raw, pos + 5, 2), _be(raw, pos + 7, 2)
        checks = [(seen, _JPEG_TWO_FRAMES, zeros), (~tf.equal(precision, 8), _JPEG_PRECISION, precision),
                  (~_is_in(components, (1, 3, 4)), _JPEG_COMPONENTS, components),
                  (~tf.equal(length, 8 + 3 * components) | tf.equal(frame_h, 0) | tf.equal(frame_w, 0),
                   _JPEG_FRAME, zeros)]
        for failed, code, number in checks:
            hit = is_frame & tf.equal(reason, _OK) & failed
            value = tf.where(hit, number, value)
            reason = _fail(reason, hit, code)
        good_frame = is_frame & tf.equal(reason, _OK)
        width, height = tf.where(good_frame, frame_w, width), tf.where(good_frame, frame_h, height)
        seen, sized = seen | is_frame, sized | good_frame
        reason = _fail(reason, is_scan & ~seen, _JPEG_NO_FRAME)
        step = tf.where(fill, tf.constant(1, tf.int64), tf.where(alone, tf.constant(2, tf.int64), 2 + length))
        moving = tf.equal(reason, _OK) & ~done
        return (i + 1, tf.where(moving, pos + step, pos), reason, value, done | (is_scan & tf.equal(reason, _OK)),
                width, height, seen, sized)

    def more(i, pos, reason, value, done, *_):
        return (i < MAX_SEGMENTS) & tf.reduce_any(tf.equal(reason, _OK) & ~done)

    false = tf.zeros_like(active)
    state = (tf.constant(0), zeros + 2, reason, zeros, false, zeros, zeros, false, false)
    _, pos, reason, value, done, width, height, _, sized = tf.while_loop(more, body, state)
    reason = _fail(reason, ~done, _JPEG_TOO_MANY)
    # An end-of-image marker after the first scan (in scan data 0xFF is always followed by 0x00 or a
    # marker, so these two bytes are a marker; one before the scan may be an EXIF thumbnail's).
    # Without it libjpeg fails on a file cut inside a later table segment or just after a 0xFF.
    after_scan = _text(raw, pos, INT31_MAX)  # pos: the first scan's SOS marker
    ends = tf.strings.split(tf.where(tf.equal(reason, _OK), after_scan, ""), sep=b"\xff\xd9").row_lengths() - 1
    reason = _fail(reason, tf.equal(ends, 0), _JPEG_NO_END)
    return {"reason": tf.where(active, reason, _OK), "value": value, "width": width, "height": height,
            "sized": active & sized}


def reason_text(reason: tf.Tensor, value: tf.Tensor) -> tf.Tensor:
    """Reason codes and their numbers, (batch,) int32 and int64 -> (batch,) error strings."""
    decimal = tf.strings.as_string(value)
    hexadecimal = _hex(value)
    texts = []
    for code, text in enumerate(_REASONS):
        if "{}" in text:
            before, after = text.split("{}")
            texts.append(tf.strings.join([before, hexadecimal if code in _HEX else decimal, after]))
        else:
            texts.append(tf.fill(tf.shape(decimal), text))
    return tf.gather(tf.stack(texts, axis=1), reason, batch_dims=1)


def _hex(value: tf.Tensor) -> tf.Tensor:
    """(batch,) int64 bytes 0..255 -> (batch,) two-digit upper-case hexadecimal strings."""
    digits = tf.constant(list("0123456789ABCDEF"))
    value = tf.clip_by_value(value, 0, 255)
    return tf.strings.join([tf.gather(digits, value // 16), tf.gather(digits, value % 16)])


def to_rgb(image: tf.Tensor) -> tf.Tensor:
    """(h, w, 1..4) uint8 -> (h, w, 3) float32 in [0, 1]: gray repeated, alpha over white."""
    x = tf.cast(image, tf.float32) / 255.0  # (h, w, c)
    channels = tf.shape(x)[2]
    colour = tf.cond(channels >= 3, lambda: x[:, :, :3], lambda: tf.tile(x[:, :, :1], [1, 1, 3]))  # (h, w, 3)
    has_alpha = tf.equal(channels, 2) | tf.equal(channels, 4)
    alpha = tf.cond(has_alpha, lambda: x[:, :, -1:], lambda: tf.ones_like(x[:, :, :1]))  # (h, w, 1)
    return colour * alpha + (1.0 - alpha)


class ImageFrontend(Frontend):
    """PNG/JPEG bytes -> (height, width, 3) uint8 RGB canvases (see the module docstring for the
    rules and error messages).

    Args:
        height, width: the canvas size, pixels. The defaults suit the toy digit strips
            (``zoo.data.toy_image``: 32 pixels high, at most 128 wide); photos want e.g. 224 x 224.
        max_pixels: the largest accepted picture, width * height, judged from its header.
        max_bytes: the largest accepted file, bytes.

    Example:
        >>> frontend = ImageFrontend(height=32, width=128)
        >>> out = frontend.decode(tf.constant([PLACEHOLDER]))
        >>> out["source"].shape, out["content_shape"].numpy().tolist()
        (TensorShape([1, 32, 128, 3]), [[32, 32]])
    """

    kind = "image"
    input_signature = tf.TensorSpec([None], tf.string, name="image")
    variable_length = False

    def __init__(self, height: int = 32, width: int = 128, max_pixels: int = 4096 * 4096,
                 max_bytes: int = 20_000_000, name=None):
        super().__init__(name=name)
        for what, number, top in (("height", height, MAX_SIDE), ("width", width, MAX_SIDE),
                                  ("max_pixels", max_pixels, None), ("max_bytes", max_bytes, INT31_MAX)):
            if isinstance(number, bool) or not isinstance(number, int) or number < 1 or (top and number > top):
                raise ValueError(f"{what} must be an integer from 1 to {top or 'any size'}, got {number!r}")
        self.height, self.width = height, width
        self.max_pixels, self.max_bytes = max_pixels, max_bytes

    def get_config(self) -> dict:
        return {"kind": self.kind, "height": self.height, "width": self.width, "max_pixels": self.max_pixels,
                "max_bytes": self.max_bytes}

    def prepare(self, inputs) -> list[bytes]:
        """PNG/JPEG bytes or paths to such files -> bytes (a TypeError/FileNotFoundError names inputs[i])."""
        return read_bytes_inputs(inputs, "PNG/JPEG")

    def check(self, raw: tf.Tensor) -> tuple[tf.Tensor, tf.Tensor]:
        """Header checks only, nothing decoded: raw (batch,) string -> (error (batch,) string,
        is_png (batch,) bool)."""
        size = tf.cast(tf.strings.length(raw, unit="BYTE"), tf.int64)  # (batch,)
        too_big = size > self.max_bytes
        is_png = ~too_big & tf.equal(tf.strings.substr(raw, 0, 8), PNG_MAGIC)
        is_jpeg = ~too_big & tf.equal(tf.strings.substr(raw, 0, 3), JPEG_MAGIC)
        png, jpeg = parse_png_headers(raw, is_png), parse_jpeg_headers(raw, is_jpeg)
        reason = tf.where(is_png, png["reason"], tf.where(is_jpeg, jpeg["reason"], _NOT_IMAGE))
        reason = tf.where(tf.equal(size, 0), _EMPTY, reason)
        error = reason_text(reason, jpeg["value"])  # (batch,)
        width = tf.where(is_png, png["width"], jpeg["width"])
        height = tf.where(is_png, png["height"], jpeg["height"])
        sized = tf.where(is_png, png["sized"], jpeg["sized"])  # the size is known: it decides first
        dimensions = tf.strings.join([tf.strings.as_string(width), "x", tf.strings.as_string(height), " pixels, "])
        too_wide = sized & ((width > MAX_SIDE) | (height > MAX_SIDE))
        error = tf.where(too_wide, tf.strings.join([dimensions, f"more than {MAX_SIDE} pixels per side"]), error)
        too_many = sized & ~too_wide & (width * height > self.max_pixels)
        error = tf.where(too_many, tf.strings.join([dimensions, f"more than the {self.max_pixels} pixel limit"]), error)
        error = tf.where(too_big, tf.strings.join([tf.strings.as_string(size),
                                                   f" bytes, more than the {self.max_bytes} byte limit"]), error)
        return error, is_png

    def decode(self, raw: tf.Tensor) -> dict:
        """raw (batch,) PNG/JPEG bytes -> {"source": (batch, height, width, 3) uint8,
        "source_length": (batch,) int32 = height * width, "error": (batch,) string,
        "content_shape": (batch, 2) int32 (rows, columns) of the picture on the canvas}."""
        raw = tf.convert_to_tensor(raw, tf.string)
        error, is_png = self.check(raw)
        usable = tf.equal(error, "")
        safe = tf.where(usable, raw, tf.constant(PLACEHOLDER))  # every one of these decodes
        is_png = is_png | ~usable

        def one(args):
            data, png = args

            def read_png():
                return to_rgb(tf.io.decode_png(data, channels=0, dtype=tf.uint8))  # 16-bit: high byte

            def read_jpeg():  # truncated or corrupt scans decode, missing rows gray
                return to_rgb(tf.io.decode_jpeg(data, channels=3, try_recover_truncated=True, acceptable_fraction=0.0))

            return self.fit(tf.cond(png, read_png, read_jpeg))

        source, content = tf.map_fn(one, (safe, is_png), fn_output_signature=(
            tf.TensorSpec([self.height, self.width, 3], tf.uint8), tf.TensorSpec([2], tf.int32)))
        batch = tf.shape(raw)[0]
        return {"source": source, "source_length": tf.fill([batch], self.height * self.width), "error": error,
                "content_shape": content}

    def fit(self, image: tf.Tensor) -> tuple[tf.Tensor, tf.Tensor]:
        """(h, w, 3) float32 in [0, 1] -> ((height, width, 3) uint8 canvas, (2,) int32 content shape):
        resized keeping the aspect ratio, at the top-left, padded with white."""
        shape = tf.cast(tf.shape(image)[:2], tf.float64)  # (h, w)
        scale = tf.minimum(self.height / shape[0], self.width / shape[1])
        size = tf.cast(tf.round(shape * scale), tf.int32)  # (2,)
        size = tf.clip_by_value(size, 1, [self.height, self.width])
        resized = tf.image.resize(image, size, method="bilinear", antialias=True)  # (rows, cols, 3)
        canvas = tf.pad(resized, [[0, self.height - size[0]], [0, self.width - size[1]], [0, 0]],
                        constant_values=1.0)  # (height, width, 3)
        canvas = tf.cast(tf.round(tf.clip_by_value(canvas, 0.0, 1.0) * 255.0), tf.uint8)
        canvas.set_shape([self.height, self.width, 3])
        return canvas, size
