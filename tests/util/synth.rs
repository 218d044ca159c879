//! Synthetic raw bursts with known truth, made from real photos: each frame sees the scene moved
//! by a known sub-pixel motion (translation, optionally a small rotation, optionally an object
//! moving on its own), is mosaiced as a 12-bit sensor would record it (RGGB or an X-Trans layout,
//! black 256, white 4095) and gets Poisson-Gaussian noise of a stated level. The clean photo the
//! reference frame (frame 0) sees is returned with it.

use std::ops::ControlFlow;

use burstpipe::{
    Burst, Cfa, Engine, Frame, MergeMethod, MergeOptions, MotionField, Options, XTrans,
};

use crate::{max_abs_diff, srgb_to_linear, Rgb};

/// Sensor levels of the synthetic frames.
pub const BLACK: f32 = 256.0;
pub const WHITE: f32 = 4095.0;

/// Noise of a linear signal x in [0, 1]: variance = `scale`·x + `offset` (shot + read noise, the
/// DNG NoiseProfile model). Shot noise is drawn as a Gaussian of that variance (the Poisson law
/// at these photon counts).
#[derive(Debug, Clone, Copy)]
pub struct Noise {
    pub name: &'static str,
    pub scale: f64,
    pub offset: f64,
}

/// Three levels: at mid-grey (x = 0.18) the noise standard deviation is about 0.45 %, 2.8 % and
/// 5.7 % of white, and in the blacks (read noise) 0.1 %, 0.6 % and 2 % — a bright scene, a dim
/// room, and night.
pub const NOISE_LOW: Noise = Noise {
    name: "low",
    scale: 1e-4,
    offset: 1e-6,
};
pub const NOISE_MEDIUM: Noise = Noise {
    name: "medium",
    scale: 4e-3,
    offset: 4e-5,
};
pub const NOISE_HIGH: Noise = Noise {
    name: "high",
    scale: 1.6e-2,
    offset: 4e-4,
};

/// Where frame k's camera looks: frame pixel p shows the scene at R(angle)·(p − c) + c + shift,
/// c the image centre. Pixels, radians.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct Motion {
    pub dx: f32,
    pub dy: f32,
    pub angle: f32,
}

impl Motion {
    fn to_scene(self, x: f32, y: f32, cx: f32, cy: f32) -> (f32, f32) {
        let (s, c) = self.angle.sin_cos();
        let (u, v) = (x - cx, y - cy);
        (c * u - s * v + cx + self.dx, s * u + c * v + cy + self.dy)
    }

    /// Where the content of reference pixel (x, y) lies in this frame, minus (x, y): the true
    /// motion vector an aligner must find, in pixels.
    pub fn displacement(&self, x: f32, y: f32, width: u32, height: u32) -> (f32, f32) {
        let (cx, cy) = (width as f32 / 2.0, height as f32 / 2.0);
        let (s, c) = self.angle.sin_cos();
        let (u, v) = (x - cx - self.dx, y - cy - self.dy);
        // Inverse rotation.
        (c * u + s * v + cx - x, -s * u + c * v + cy - y)
    }
}

/// A square of scene that moves across the frames on its own (a passer-by): taken from `from`
/// in the photo, drawn in frame k at `at + k·velocity` (frame pixels, on top of camera motion).
#[derive(Debug, Clone, Copy)]
pub struct MovingObject {
    pub from: (u32, u32),
    pub at: (f32, f32),
    pub size: u32,
    pub velocity: (f32, f32),
}

/// A synthetic burst and what is known about it.
pub struct SynthBurst {
    pub frames: Vec<Frame>,
    /// The clean photo frame 0 sees (sRGB-encoded, [0, 1]).
    pub truth: Rgb,
    pub motions: Vec<Motion>,
    /// With a moving object: pixels (of frame 0's view) the object covers in any frame.
    pub object_mask: Option<Vec<bool>>,
}

impl SynthBurst {
    /// Write the frames as DNG files (with their NoiseProfile) into `dir`, named as the frames
    /// are (`frame00.dng`, ...); returns the paths in capture order.
    pub fn write_dngs(&self, dir: &std::path::Path) -> Vec<std::path::PathBuf> {
        self.frames
            .iter()
            .map(|f| {
                let path = dir.join(f.source().file_name().expect("frames are named"));
                f.save_dng(&path)
                    .unwrap_or_else(|e| panic!("{}: {e}", path.display()));
                path
            })
            .collect()
    }
}

/// Deterministic random numbers (xorshift64*), so failures reproduce.
pub struct Rng(u64);

impl Rng {
    pub fn new(seed: u64) -> Rng {
        Rng(seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1)
    }
    pub fn next_u64(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }
    /// Uniform in [0, 1).
    pub fn unit(&mut self) -> f64 {
        (self.next_u64() >> 11) as f64 / (1u64 << 53) as f64
    }
    /// Uniform in [-a, a).
    pub fn sym(&mut self, a: f64) -> f64 {
        (2.0 * self.unit() - 1.0) * a
    }
    /// Standard normal (Box-Muller).
    pub fn normal(&mut self) -> f64 {
        let u = self.unit().max(1e-300);
        let v = self.unit();
        (-2.0 * u.ln()).sqrt() * (std::f64::consts::TAU * v).cos()
    }
}

/// `n` camera motions, the first the identity: translations uniform in ±`max_shift` px, rotations
/// in ±`max_angle` rad.
pub fn random_motions(n: usize, max_shift: f32, max_angle: f32, seed: u64) -> Vec<Motion> {
    let mut rng = Rng::new(seed);
    (0..n)
        .map(|k| {
            if k == 0 {
                Motion::default()
            } else {
                Motion {
                    dx: rng.sym(max_shift as f64) as f32,
                    dy: rng.sym(max_shift as f64) as f32,
                    angle: rng.sym(max_angle as f64) as f32,
                }
            }
        })
        .collect()
}

/// Lanczos-3 weights for the six taps around fractional position t (taps at -2..=3): a close
/// approximation of ideal band-limited resampling, so moved frames keep the photo's detail.
fn lanczos_weights(t: f32) -> [f32; 6] {
    let mut w = [0.0f32; 6];
    for (i, wi) in w.iter_mut().enumerate() {
        let x = t - (i as f32 - 2.0);
        *wi = if x.abs() < 1e-6 {
            1.0
        } else {
            let px = std::f32::consts::PI * x;
            3.0 * px.sin() * (px / 3.0).sin() / (px * px)
        };
    }
    let sum: f32 = w.iter().sum();
    w.map(|v| v / sum)
}

/// Lanczos-3 sample of linear channel `c` at (x, y), edges clamped.
fn sample(lin: &[f32], w: u32, h: u32, x: f32, y: f32, c: usize) -> f32 {
    let (x0, y0) = (x.floor(), y.floor());
    let (wx, wy) = (lanczos_weights(x - x0), lanczos_weights(y - y0));
    let mut acc = 0.0;
    for (j, wyj) in wy.iter().enumerate() {
        let yy = (y0 as i64 + j as i64 - 2).clamp(0, h as i64 - 1) as usize;
        let row = &lin[yy * w as usize * 3..];
        let mut r = 0.0;
        for (i, wxi) in wx.iter().enumerate() {
            let xx = (x0 as i64 + i as i64 - 2).clamp(0, w as i64 - 1) as usize;
            r += wxi * row[xx * 3 + c];
        }
        acc += wyj * r;
    }
    acc
}

/// Linear scene value each pixel of frame `k` sees, for one colour per pixel (`color(x, y)`) or,
/// with `None`, all three.
fn render_view(
    img: &Rgb,
    lin: &[f32],
    motion: &Motion,
    object: Option<(&MovingObject, usize)>,
) -> (Vec<f32>, Vec<bool>) {
    let (w, h) = (img.width, img.height);
    let (cx, cy) = (w as f32 / 2.0, h as f32 / 2.0);
    let mut out = vec![0.0; (w * h * 3) as usize];
    let mut covered = vec![false; (w * h) as usize];
    for y in 0..h {
        for x in 0..w {
            let i = (y * w + x) as usize;
            let (mut sx, mut sy) = motion.to_scene(x as f32, y as f32, cx, cy);
            if let Some((o, k)) = object {
                // The object is drawn in frame coordinates: it moves in the picture on its own.
                let (ox, oy) = (
                    o.at.0 + k as f32 * o.velocity.0,
                    o.at.1 + k as f32 * o.velocity.1,
                );
                let (u, v) = (x as f32 - ox, y as f32 - oy);
                if u >= 0.0 && v >= 0.0 && u < o.size as f32 && v < o.size as f32 {
                    sx = o.from.0 as f32 + u;
                    sy = o.from.1 as f32 + v;
                    covered[i] = true;
                }
            }
            for c in 0..3 {
                out[i * 3 + c] = sample(lin, w, h, sx, sy, c).clamp(0.0, 1.0);
            }
        }
    }
    (out, covered)
}

/// The frame without its NoiseProfile (as from a camera that writes none), layout kept.
pub fn without_noise_profile(f: &Frame) -> Frame {
    let g = Frame::from_mosaic(
        f.width(),
        f.height(),
        f.mosaic().to_vec(),
        f.cfa(),
        BLACK,
        WHITE,
    )
    .unwrap()
    .with_source(f.source());
    match f.xtrans() {
        Some(layout) => g.with_xtrans(layout),
        None => g,
    }
}

/// Make a burst of `motions.len()` frames of `img` (sRGB-encoded) with `noise`. Frames carry the
/// noise profile and are named `frame00.dng`, `frame01.dng`, ... for error messages.
pub fn synth_burst(
    img: &Rgb,
    motions: &[Motion],
    noise: Noise,
    object: Option<MovingObject>,
    seed: u64,
) -> SynthBurst {
    synth_burst_on(img, motions, noise, object, seed, None)
}

/// [`synth_burst`] on an X-Trans sensor of the given layout (phase).
pub fn synth_burst_xtrans(
    img: &Rgb,
    motions: &[Motion],
    noise: Noise,
    object: Option<MovingObject>,
    seed: u64,
    layout: XTrans,
) -> SynthBurst {
    synth_burst_on(img, motions, noise, object, seed, Some(layout))
}

/// A synthetic burst on an RGGB sensor (`xtrans` None) or an X-Trans one.
fn synth_burst_on(
    img: &Rgb,
    motions: &[Motion],
    noise: Noise,
    object: Option<MovingObject>,
    seed: u64,
    xtrans: Option<XTrans>,
) -> SynthBurst {
    let (w, h) = (img.width, img.height);
    let lin: Vec<f32> = img.data.iter().map(|&v| srgb_to_linear(v)).collect();
    let mut rng = Rng::new(seed ^ 0x5EED);
    let cfa = Cfa::Rggb;
    let color = |x: usize, y: usize| match xtrans {
        Some(layout) => layout.color_at(x, y),
        None => cfa.color_at(x, y),
    };
    let mut frames = Vec::new();
    let mut truth = None;
    let mut mask = object.map(|_| vec![false; (w * h) as usize]);
    for (k, m) in motions.iter().enumerate() {
        let (view, covered) = render_view(img, &lin, m, object.as_ref().map(|o| (o, k)));
        if let Some(mask) = mask.as_mut() {
            // Bring the object's pixels of frame k back to frame 0's view (camera motion undone).
            for y in 0..h {
                for x in 0..w {
                    let (dx, dy) = m.displacement(x as f32, y as f32, w, h);
                    let (fx, fy) = ((x as f32 + dx).round(), (y as f32 + dy).round());
                    if fx >= 0.0
                        && fy >= 0.0
                        && fx < w as f32
                        && fy < h as f32
                        && covered[(fy as u32 * w + fx as u32) as usize]
                    {
                        mask[(y * w + x) as usize] = true;
                    }
                }
            }
        }
        if k == 0 {
            truth = Some(Rgb {
                width: w,
                height: h,
                data: view.iter().map(|&v| linear_to_srgb(v)).collect(),
            });
        }
        let range = WHITE - BLACK;
        let mosaic: Vec<u16> = (0..(w * h) as usize)
            .map(|i| {
                let x = view[i * 3 + color(i % w as usize, i / w as usize)] as f64;
                let sd = (noise.scale * x + noise.offset).sqrt();
                let v = x + sd * rng.normal();
                (BLACK as f64 + v * range as f64)
                    .round()
                    .clamp(0.0, WHITE as f64) as u16
            })
            .collect();
        let frame =
            Frame::from_mosaic(w, h, mosaic, cfa, BLACK, WHITE).expect("synthetic frame is valid");
        let frame = match xtrans {
            Some(layout) => frame.with_xtrans(layout),
            None => frame,
        };
        let frame = frame
            .with_noise_profile(noise.scale, noise.offset)
            .expect("noise profile is valid")
            .with_source(format!("frame{k:02}.dng"));
        frames.push(frame);
    }
    SynthBurst {
        frames,
        truth: truth.expect("at least one frame"),
        motions: motions.to_vec(),
        object_mask: mask,
    }
}

/// Whether the clean photo has texture in both directions around (x, y) (the 32×32 px tile
/// there): the smaller eigenvalue of its luminance structure tensor, per pixel, above 1e-4 (a
/// mean gradient of 1 % of white per pixel in the weaker direction). Elsewhere motion is not
/// observable — a flat sky or a straight edge looks the same moved along it — so any aligner's
/// answer is arbitrary there (and harmless: the merge averages flat content either way).
pub fn textured(truth: &Rgb, x: f32, y: f32) -> bool {
    let w = truth.width as i64;
    let lum = |x: i64, y: i64| {
        let i = ((y * w + x) * 3) as usize;
        (0..3)
            .map(|c| srgb_to_linear(truth.data[i + c]))
            .sum::<f32>()
            / 3.0
    };
    let (mut gxx, mut gxy, mut gyy) = (0.0f32, 0.0f32, 0.0f32);
    let (x0, y0) = (x as i64 - 16, y as i64 - 16);
    for v in y0..y0 + 32 {
        for u in x0..x0 + 32 {
            let gx = lum(u + 1, v) - lum(u, v);
            let gy = lum(u, v + 1) - lum(u, v);
            gxx += gx * gx;
            gxy += gx * gy;
            gyy += gy * gy;
        }
    }
    let (t, d) = (gxx + gyy, gxx * gyy - gxy * gxy);
    let min_eigen = 0.5 * t - (0.25 * t * t - d).max(0.0).sqrt();
    min_eigen / 1024.0 > 1e-4
}

/// End-point errors (sensor px) of the motion fields against the truth, over tiles whose centre
/// is at least 48 px inside the image: the mean over textured tiles, median and mean over all
/// tiles, and the share of tiles that are textured.
pub fn epe_stats(b: &SynthBurst, fields: &[MotionField]) -> (f32, f32, f32, f32) {
    let mut all = Vec::new();
    let mut total = 0;
    let (w, h) = (b.frames[0].width(), b.frames[0].height());
    let (mut sum, mut n) = (0.0f32, 0);
    for (m, f) in b.motions.iter().zip(fields).skip(1) {
        for j in 0..f.tiles_y {
            for i in 0..f.tiles_x {
                let (x, y) = f.centre(i, j);
                if x < 48.0 || y < 48.0 || x > w as f32 - 48.0 || y > h as f32 - 48.0 {
                    continue;
                }
                let (tx, ty) = m.displacement(x, y, w, h);
                let v = f.vectors[(j * f.tiles_x + i) as usize];
                let e = ((v[0] - tx).powi(2) + (v[1] - ty).powi(2)).sqrt();
                all.push(e);
                total += 1;
                if textured(&b.truth, x, y) {
                    sum += e;
                    n += 1;
                }
            }
        }
    }
    let mean_all = all.iter().sum::<f32>() / all.len() as f32;
    all.sort_by(f32::total_cmp);
    (
        sum / n as f32,
        all[all.len() / 2],
        mean_all,
        n as f32 / total as f32,
    )
}

/// The naive baseline: the frames averaged pixel by pixel, no alignment (same sensor layout).
pub fn unaligned_average(frames: &[Frame]) -> Frame {
    let n = frames.len() as f32;
    let m: Vec<u16> = (0..frames[0].mosaic().len())
        .map(|i| (frames.iter().map(|f| f.mosaic()[i] as f32).sum::<f32>() / n).round() as u16)
        .collect();
    let f = Frame::from_mosaic(
        frames[0].width(),
        frames[0].height(),
        m,
        frames[0].cfa(),
        BLACK,
        WHITE,
    )
    .unwrap();
    match frames[0].xtrans() {
        Some(layout) => f.with_xtrans(layout),
        None => f,
    }
}

/// Develop at 0 EV with the plain tone curve: the output is then directly comparable with the
/// clean photo (exposure fusion, the default tone mapping, changes tones on purpose).
pub fn develop_options() -> Options {
    Options {
        exposure_ev: Some(0.0),
        tone: burstpipe::Tone::Curve,
        ..Options::default()
    }
}

/// Merge with frame 0 as the reference (the one the truth shows) and develop as
/// [`develop_options`].
pub fn merge_options(method: MergeMethod) -> MergeOptions {
    MergeOptions {
        reference: Some(0),
        method,
        develop: develop_options(),
        ..MergeOptions::default()
    }
}

/// A burst of 3 frames of [`crate::tall_photo`]`(w)` (±8 px motion, medium noise, motions from
/// `seed`, noise from `seed + 1`) without noise profiles, on an RGGB or an X-Trans sensor: large
/// enough that bands are cropped above and below.
pub fn tall_burst(w: u32, seed: u64, xtrans: Option<XTrans>) -> Burst {
    let img = crate::tall_photo(w);
    let motions = random_motions(3, 8.0, 0.002, seed);
    let b = synth_burst_on(&img, &motions, NOISE_MEDIUM, None, seed + 1, xtrans);
    Burst::new(b.frames.iter().map(without_noise_profile).collect()).unwrap()
}

/// Merge `burst` with `method` whole (automatic reference) and in cropped bands, the binding
/// limit forced to 3/4 of one frame's 16-bit mosaic, and check that the merged raw, its noise
/// profile and the developed photo are the whole merge's, exactly. Returns the banded merged
/// raw and its number of bands (the merge reports one step per frame and band, and two more).
pub fn assert_banded_merge_is_whole(
    engine: &Engine,
    burst: &Burst,
    method: MergeMethod,
) -> (Frame, usize) {
    let whole = MergeOptions {
        reference: None,
        ..merge_options(method)
    };
    let f = &burst.frames()[0];
    let banded = MergeOptions {
        max_binding: Some((f.width() * f.height()) as u64 * 2 * 3 / 4),
        ..whole.clone()
    };
    let mut steps = 0;
    let mut count = |_: usize, total: usize, _: &str| {
        steps = total;
        ControlFlow::Continue(())
    };
    let (a, c) = (
        engine.merge_raw(burst, &whole).unwrap(),
        engine
            .merge_raw_with_progress(burst, &banded, &mut count)
            .unwrap(),
    );
    let bands = (steps - 2) / burst.len();
    let d = max_abs_diff(a.mosaic(), c.mosaic());
    eprintln!("{method:?}: {bands} cropped bands vs whole merge, max difference {d} of 65535");
    assert_eq!(d, 0, "{method:?}: banded merge differs by {d}");
    assert_eq!(a.noise_profile(), c.noise_profile(), "{method:?}");
    let (da, dc) = (
        engine.merge(burst, &whole).unwrap(),
        engine.merge(burst, &banded).unwrap(),
    );
    assert_eq!(da.data, dc.data, "{method:?}: developed results differ");
    (c, bands)
}

/// Border excluded from quality measures: frames moved by up to 8 px repeat their edges there.
pub const BORDER: u32 = 16;

/// Linear light → sRGB-encoded, clipped to [0, 1].
pub fn linear_to_srgb(x: f32) -> f32 {
    let x = x.clamp(0.0, 1.0);
    if x <= 0.0031308 {
        12.92 * x
    } else {
        1.055 * x.powf(1.0 / 2.4) - 0.055
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn displacement_inverts_the_camera_motion() {
        let m = Motion {
            dx: 3.25,
            dy: -1.5,
            angle: 0.01,
        };
        let (w, h) = (768, 512);
        for (x, y) in [(10.0, 20.0), (400.0, 300.0), (700.0, 500.0)] {
            let (dx, dy) = m.displacement(x, y, w, h);
            // Frame pixel (x + dx, y + dy) sees the scene point reference pixel (x, y) sees.
            let (sx, sy) = m.to_scene(x + dx, y + dy, w as f32 / 2.0, h as f32 / 2.0);
            assert!((sx - x).abs() < 1e-3 && (sy - y).abs() < 1e-3);
        }
        let t = Motion {
            dx: 2.0,
            dy: 1.0,
            angle: 0.0,
        };
        assert_eq!(t.displacement(5.0, 5.0, w, h), (-2.0, -1.0));
    }

    #[test]
    fn noise_has_the_stated_variance() {
        let img = Rgb {
            width: 64,
            height: 64,
            data: vec![linear_to_srgb(0.25); 64 * 64 * 3],
        };
        let b = synth_burst(&img, &[Motion::default()], NOISE_MEDIUM, None, 1);
        let v: Vec<f64> = b.frames[0]
            .mosaic()
            .iter()
            .map(|&s| (s as f64 - BLACK as f64) / (WHITE - BLACK) as f64)
            .collect();
        let mean = v.iter().sum::<f64>() / v.len() as f64;
        let var = v.iter().map(|x| (x - mean).powi(2)).sum::<f64>() / v.len() as f64;
        let expected = NOISE_MEDIUM.scale * 0.25 + NOISE_MEDIUM.offset;
        assert!((mean - 0.25).abs() < 0.002, "mean {mean}");
        assert!(
            (var / expected - 1.0).abs() < 0.1,
            "variance {var} vs {expected}"
        );
    }
}
