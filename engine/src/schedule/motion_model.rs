//! A bracket's motion field made safe (issue 12): camera shake between exposures is one global
//! motion (an affine map fitted robustly to the tiles whose match is reliable), local tile motion
//! is kept only where the match is reliable AND agrees with its neighbours, and an exposure whose
//! alignment does not clearly explain the differences better than no motion, or whose motion stays
//! under [`DEAD_ZONE`] (an image pixel), is not moved at all — so a bracket that does not move fuses exactly as
//! with `--no-align`. Small fits on the CPU over one vector per tile (a few thousand at most).
//!
//! Units: grey pixels (two image pixels), tile `(i, j)` centred on grey `(8i − 0.5, 8j − 0.5)`.

use crate::stages::align::STRIDE;

/// A tile is textured when its grey varies by at least this much (RMS over the tile, on the
/// sqrt scale of the alignment grey: 8-bit quantization is about a fifth of it per pixel)…
const MIN_TILE_RMS: f32 = 0.005;
/// …and its match is reliable when the residual after moving is below this share of its texture.
const MAX_RESIDUAL_SHARE: f32 = 0.5;
/// Local deviations from the global motion are medians over (2r + 1)² tiles (5×5: 96 image
/// pixels between the outer centres), kept only where at least [`MIN_NEIGHBOURS`] of them are
/// reliable and they agree to within [`LOCAL_SPREAD`] (median absolute deviation, grey px).
const LOCAL_RADIUS: isize = 2;
const MIN_NEIGHBOURS: usize = 6;
const LOCAL_SPREAD: f32 = 0.25;
/// Tiles within this distance (grey px, an image pixel) of a motion agree with it; farther ones
/// are outliers of the global fit (parallax, moving things, wrong matches across exposures).
const AGREE: f32 = 0.5;
/// The share of the reliable tiles that must agree on one global motion.
const MIN_SUPPORT: f32 = 0.5;
/// An exposure stays put unless its raw matches remove at least this share of the residual left
/// by no motion at all, summed over its reliable tiles: on a steady bracket the search only
/// trades exposure differences for noise, and a motion that explains nothing must not be applied.
const MIN_RESIDUAL_GAIN: f32 = 0.15;
/// Motions everywhere under this many grey pixels (one image pixel) are not applied: a warp
/// resamples (Catmull-Rom), which softens the finest detail of the whole exposure, while a
/// misregistration under a pixel blends almost invisibly in the fusion's pyramid. Measured on the
/// real brackets of ../shared/data/real/brackets (MEF-SSIM, the authors' model): SeaRock, moving
/// about half a pixel (robust affine fit), scored 0.9518 aligned against 0.9609 unaligned,
/// OldHouse (a third of a pixel) 0.9818 against 0.9834, with a half-pixel dead zone. It also
/// makes a steady bracket's fusion exactly its `--no-align` fusion (estimates there scatter by a
/// few hundredths of a pixel).
pub(crate) const DEAD_ZONE: f32 = 0.5;

/// Per tile, the search's motion and the match quality: `(texture, residual)` under that motion
/// and `residual` under no motion (warp.wgsl's tile_confidence).
pub(crate) struct Matches<'a> {
    pub motion: &'a [[f32; 2]],
    pub confidence: &'a [[f32; 2]],
    pub still: &'a [[f32; 2]],
    pub tiles_x: usize,
}

/// The motion field to apply, with each tile's confidence (1 where the tile's own match set its
/// motion, 0 where it follows the global model or nothing moves).
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Field {
    pub motion: Vec<[f32; 2]>,
    pub confidence: Vec<f32>,
    /// Why the field is what it is (for logs and tests).
    pub kind: FieldKind,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum FieldKind {
    /// Too few reliable tiles, or the matches explain no more than no motion.
    Untrusted,
    /// The motion stays under [`DEAD_ZONE`] everywhere.
    Steady,
    /// The global model, with local motion where reliable.
    Moved,
}

impl Field {
    fn still(n: usize, kind: FieldKind) -> Field {
        Field {
            motion: vec![[0.0; 2]; n],
            confidence: vec![0.0; n],
            kind,
        }
    }
}

/// An affine map of tile centres to motion: `m = [a0 + a1 x + a2 y, b0 + b1 x + b2 y]`, with
/// `x`, `y` the centre's offset from `origin` divided by `scale` (well-conditioned sums).
#[derive(Debug, Clone, Copy, PartialEq)]
struct Affine {
    a: [f32; 3],
    b: [f32; 3],
    origin: [f32; 2],
    scale: f32,
}

impl Affine {
    fn translation(m: [f32; 2]) -> Affine {
        Affine {
            a: [m[0], 0.0, 0.0],
            b: [m[1], 0.0, 0.0],
            origin: [0.0; 2],
            scale: 1.0,
        }
    }

    fn at(&self, p: [f32; 2]) -> [f32; 2] {
        let (x, y) = (
            (p[0] - self.origin[0]) / self.scale,
            (p[1] - self.origin[1]) / self.scale,
        );
        [
            self.a[0] + self.a[1] * x + self.a[2] * y,
            self.b[0] + self.b[1] * x + self.b[2] * y,
        ]
    }

    /// Least squares over `points` (centre, motion); None when they do not span a plane.
    fn fit(points: &[([f32; 2], [f32; 2])]) -> Option<Affine> {
        let n = points.len() as f64;
        let origin = [0, 1].map(|c| (points.iter().map(|p| p.0[c] as f64).sum::<f64>() / n) as f32);
        let scale = points
            .iter()
            .map(|p| (p.0[0] - origin[0]).abs().max((p.0[1] - origin[1]).abs()))
            .fold(1.0f32, f32::max);
        let mut ata = [[0.0f64; 3]; 3];
        let mut atb = [[0.0f64; 3]; 2];
        for (p, m) in points {
            let r = [
                1.0,
                ((p[0] - origin[0]) / scale) as f64,
                ((p[1] - origin[1]) / scale) as f64,
            ];
            for i in 0..3 {
                for j in 0..3 {
                    ata[i][j] += r[i] * r[j];
                }
                for c in 0..2 {
                    atb[c][i] += r[i] * m[c] as f64;
                }
            }
        }
        let inv = invert3(ata)?;
        let solve = |b: [f64; 3]| -> [f32; 3] {
            [0, 1, 2].map(|i| (0..3).map(|j| inv[i][j] * b[j]).sum::<f64>() as f32)
        };
        Some(Affine {
            a: solve(atb[0]),
            b: solve(atb[1]),
            origin,
            scale,
        })
    }
}

/// The inverse of a symmetric 3×3 matrix, None when (nearly) singular.
fn invert3(m: [[f64; 3]; 3]) -> Option<[[f64; 3]; 3]> {
    let c = |i: usize, j: usize| {
        let (i1, i2) = ((i + 1) % 3, (i + 2) % 3);
        let (j1, j2) = ((j + 1) % 3, (j + 2) % 3);
        m[i1][j1] * m[i2][j2] - m[i1][j2] * m[i2][j1]
    };
    let det = m[0][0] * c(0, 0) + m[0][1] * c(0, 1) + m[0][2] * c(0, 2);
    let trace = m[0][0] + m[1][1] + m[2][2];
    if det.is_nan() || det.abs() <= 1e-9 * trace * trace * trace {
        return None;
    }
    let mut inv = [[0.0; 3]; 3];
    for (i, row) in inv.iter_mut().enumerate() {
        for (j, v) in row.iter_mut().enumerate() {
            *v = c(j, i) / det;
        }
    }
    Some(inv)
}

fn median(v: &mut [f32]) -> f32 {
    v.sort_by(f32::total_cmp);
    v[v.len() / 2]
}

/// Grey-pixel centre of tile `t` of a grid `tiles_x` wide.
fn centre(t: usize, tiles_x: usize) -> [f32; 2] {
    let s = STRIDE as f32;
    [
        (t % tiles_x) as f32 * s - 0.5,
        (t / tiles_x) as f32 * s - 0.5,
    ]
}

/// Which tiles' matches are reliable: textured, mostly explained by their motion, finite, and
/// not in the outer ring (half outside the image, where both exposures repeat their edge rows and
/// columns, which do not move with the picture: matches there are biased towards no motion).
fn reliable(m: &Matches) -> Vec<bool> {
    let min_texture = MIN_TILE_RMS * MIN_TILE_RMS * 256.0;
    let tiles_y = m.motion.len() / m.tiles_x;
    let ring = |t: usize| {
        let (x, y) = (t % m.tiles_x, t / m.tiles_x);
        m.tiles_x > 2 && tiles_y > 2 && (x == 0 || y == 0 || x + 1 == m.tiles_x || y + 1 == tiles_y)
    };
    (0..m.motion.len())
        .map(|t| {
            let [texture, residual] = m.confidence[t];
            texture > min_texture
                && residual < MAX_RESIDUAL_SHARE * texture
                && m.motion[t].iter().all(|v| v.is_finite())
                && !ring(t)
        })
        .collect()
}

/// The global motion: the translation most reliable tiles agree on (within [`AGREE`]), then an
/// affine map fitted to the tiles that agree with the model, refitted as they change; None when
/// fewer than [`MIN_SUPPORT`] of the reliable tiles agree on any one motion (the matches are
/// noise: a search across exposures always finds some offset that lowers a tile's residual).
fn global_model(m: &Matches, trusted: &[bool]) -> Option<(Affine, Vec<bool>)> {
    let tiles: Vec<usize> = (0..trusted.len()).filter(|&t| trusted[t]).collect();
    let close = |a: [f32; 2], b: [f32; 2]| (a[0] - b[0]).hypot(a[1] - b[1]) <= AGREE;
    // Candidates: up to 256 of the tiles' own motions, evenly spread.
    let step = tiles.len().div_ceil(256).max(1);
    let (best, support) = tiles
        .iter()
        .step_by(step)
        .map(|&c| {
            let n = tiles
                .iter()
                .filter(|&&t| close(m.motion[t], m.motion[c]))
                .count();
            (m.motion[c], n)
        })
        .max_by_key(|&(_, n)| n)?;
    let needed = ((MIN_SUPPORT * tiles.len() as f32).ceil() as usize).max(4);
    if support < needed {
        return None;
    }
    let agreeing: Vec<usize> = tiles
        .iter()
        .copied()
        .filter(|&t| close(m.motion[t], best))
        .collect();
    let mut xs: Vec<f32> = agreeing.iter().map(|&t| m.motion[t][0]).collect();
    let mut ys: Vec<f32> = agreeing.iter().map(|&t| m.motion[t][1]).collect();
    let mut model = Affine::translation([median(&mut xs), median(&mut ys)]);
    let inliers_of = |model: &Affine| -> Vec<bool> {
        (0..trusted.len())
            .map(|t| trusted[t] && close(m.motion[t], model.at(centre(t, m.tiles_x))))
            .collect()
    };
    let mut inliers = inliers_of(&model);
    let mut count = inliers.iter().filter(|&&b| b).count();
    for _ in 0..4 {
        let points: Vec<_> = (0..trusted.len())
            .filter(|&t| inliers[t])
            .map(|t| (centre(t, m.tiles_x), m.motion[t]))
            .collect();
        if points.len() < 12 {
            break;
        }
        let Some(fit) = Affine::fit(&points) else {
            break;
        };
        let next = inliers_of(&fit);
        let n = next.iter().filter(|&&b| b).count();
        if n < count {
            break;
        }
        (model, inliers, count) = (fit, next, n);
    }
    Some((model, inliers))
}

/// The field to warp one exposure by, from its tile matches (see the module's rules).
pub(crate) fn robust_field(m: &Matches) -> Field {
    let n = m.motion.len();
    let trusted = reliable(m);
    let count = trusted.iter().filter(|&&t| t).count();
    if count < 4.max(n / 100) {
        return Field::still(n, FieldKind::Untrusted);
    }
    // Never worse than no motion: over the reliable tiles, the matches must explain clearly more
    // than leaving the exposure where it is.
    let (moved, still): (f64, f64) = (0..n)
        .filter(|&t| trusted[t])
        .map(|t| (m.confidence[t][1] as f64, m.still[t][1] as f64))
        .fold((0.0, 0.0), |a, b| (a.0 + b.0, a.1 + b.1));
    if !clearly_lower(moved, still) {
        return Field::still(n, FieldKind::Untrusted);
    }
    let Some((model, inliers)) = global_model(m, &trusted) else {
        return Field::still(n, FieldKind::Untrusted);
    };
    let tiles_y = n / m.tiles_x;
    let r = LOCAL_RADIUS;
    let mut field = Field {
        motion: Vec::with_capacity(n),
        confidence: Vec::with_capacity(n),
        kind: FieldKind::Moved,
    };
    for t in 0..n {
        let global = model.at(centre(t, m.tiles_x));
        let (tx, ty) = ((t % m.tiles_x) as isize, (t / m.tiles_x) as isize);
        // Deviations from the model of the reliable tiles around (outliers of the global fit
        // included: a moving area is a group of them), their median and spread.
        let (mut dx, mut dy) = (Vec::new(), Vec::new());
        for j in (ty - r).max(0)..=(ty + r).min(tiles_y as isize - 1) {
            for i in (tx - r).max(0)..=(tx + r).min(m.tiles_x as isize - 1) {
                let k = j as usize * m.tiles_x + i as usize;
                if trusted[k] {
                    let g = model.at(centre(k, m.tiles_x));
                    dx.push(m.motion[k][0] - g[0]);
                    dy.push(m.motion[k][1] - g[1]);
                }
            }
        }
        let mut local = [0.0f32; 2];
        let mut confident = false;
        if dx.len() >= MIN_NEIGHBOURS {
            let d = [median(&mut dx), median(&mut dy)];
            let mut spread: Vec<f32> = dx
                .iter()
                .zip(&dy)
                .map(|(x, y)| (x - d[0]).hypot(y - d[1]))
                .collect();
            if median(&mut spread) <= LOCAL_SPREAD {
                local = d;
                confident = trusted[t] && inliers[t];
            }
        }
        field
            .motion
            .push([global[0] + local[0], global[1] + local[1]]);
        field.confidence.push(confident as u8 as f32);
    }
    let largest = field
        .motion
        .iter()
        .map(|v| v[0].abs().max(v[1].abs()))
        .fold(0.0f32, f32::max);
    if largest < DEAD_ZONE {
        return Field::still(n, FieldKind::Steady);
    }
    field
}

/// Whether a field that moves should be applied: over the textured tiles, the residual left by
/// the field itself (`applied`, tile_confidence under the field) must be clearly below the
/// residual left by no motion (`still`). The tile search lowers each tile's residual even on
/// noise; the field, one smooth model, only where the exposure really moved.
pub(crate) fn explains_more_than_rest(applied: &[[f32; 2]], still: &[[f32; 2]]) -> bool {
    let min_texture = MIN_TILE_RMS * MIN_TILE_RMS * 256.0;
    let (moved, rest) = applied
        .iter()
        .zip(still)
        .filter(|(a, _)| a[0] > min_texture)
        .fold((0.0f64, 0.0f64), |s, (a, b)| {
            (s.0 + a[1] as f64, s.1 + b[1] as f64)
        });
    clearly_lower(moved, rest)
}

/// A residual `moved` at least [`MIN_RESIDUAL_GAIN`] below `rest` (false for NaN).
fn clearly_lower(moved: f64, rest: f64) -> bool {
    moved < (1.0 - MIN_RESIDUAL_GAIN as f64) * rest
}

#[cfg(test)]
mod tests {
    use super::*;

    const TEXTURE: f32 = 1.0;

    fn matches(motion: &[[f32; 2]], residual: f32) -> (Vec<[f32; 2]>, Vec<[f32; 2]>) {
        (
            vec![[TEXTURE, residual]; motion.len()],
            vec![[TEXTURE, 0.8]; motion.len()],
        )
    }

    fn field(motion: &[[f32; 2]], conf: &[[f32; 2]], still: &[[f32; 2]], tiles_x: usize) -> Field {
        robust_field(&Matches {
            motion,
            confidence: conf,
            still,
            tiles_x,
        })
    }

    #[test]
    fn a_turn_with_wrong_tiles_follows_the_fitted_model() {
        // 20×12 tiles, a small turn plus a shift; a few wrong matches (as across exposures in
        // clipped or noisy areas) must not move their tiles.
        let (tx, ty) = (20usize, 12usize);
        let truth = |t: usize| {
            let c = centre(t, tx);
            [1.5 + 0.004 * c[1], -0.7 - 0.004 * c[0]]
        };
        let mut motion: Vec<[f32; 2]> = (0..tx * ty).map(truth).collect();
        for &t in &[45usize, 46, 130, 200] {
            motion[t] = [6.0, -4.0];
        }
        let (conf, still) = matches(&motion, 0.1);
        let f = field(&motion, &conf, &still, tx);
        assert_eq!(f.kind, FieldKind::Moved);
        for t in 0..tx * ty {
            let want = truth(t);
            let d = (f.motion[t][0] - want[0]).hypot(f.motion[t][1] - want[1]);
            assert!(d < 0.05, "tile {t}: {:?} vs {want:?}", f.motion[t]);
        }
        assert_eq!(
            f.confidence[45], 0.0,
            "a wrong tile is no confident local match"
        );
        assert_eq!(f.confidence[tx * 5 + 5], 1.0);
    }

    #[test]
    fn a_consistent_local_area_keeps_its_own_motion() {
        // A 6×6-tile area moves 2 px more than the rest (an object, or parallax): reliable and
        // consistent, it keeps its motion inside; an isolated tile does not.
        let (tx, ty) = (24usize, 16usize);
        let inside = |t: usize| (8..14).contains(&(t % tx)) && (5..11).contains(&(t / tx));
        let mut motion: Vec<[f32; 2]> = (0..tx * ty)
            .map(|t| if inside(t) { [3.0, 1.0] } else { [1.0, 1.0] })
            .collect();
        motion[3 * tx + 3] = [4.0, 4.0];
        let (conf, still) = matches(&motion, 0.1);
        let f = field(&motion, &conf, &still, tx);
        assert_eq!(f.motion[8 * tx + 11], [3.0, 1.0]);
        assert_eq!(f.motion[3 * tx + 3], [1.0, 1.0]);
        assert_eq!(f.motion[14 * tx + 20], [1.0, 1.0]);
    }

    #[test]
    fn steady_untrusted_and_unexplained_exposures_do_not_move() {
        let (tx, ty) = (16usize, 10usize);
        let n = tx * ty;
        // A steady bracket: scattered estimates of a few hundredths of a pixel.
        let motion: Vec<[f32; 2]> = (0..n)
            .map(|t| {
                [
                    0.03 * ((t * 7 % 5) as f32 - 2.0),
                    0.02 * ((t * 3 % 5) as f32 - 2.0),
                ]
            })
            .collect();
        let (conf, still) = matches(&motion, 0.1);
        let f = field(&motion, &conf, &still, tx);
        assert_eq!(f.kind, FieldKind::Steady);
        assert!(f.motion.iter().all(|&m| m == [0.0, 0.0]));
        // A real shift whose matches are no better than no motion at all.
        let shift = vec![[2.0, 0.0]; n];
        let worse = vec![[TEXTURE, 0.3]; n];
        let same = vec![[TEXTURE, 0.33]; n];
        assert_eq!(field(&shift, &worse, &same, tx).kind, FieldKind::Untrusted);
        // Flat everywhere: nothing is reliable.
        let flat = vec![[0.0, 0.0]; n];
        let f = field(&shift, &flat, &flat, tx);
        assert_eq!(f.kind, FieldKind::Untrusted);
        assert!(f.motion.iter().all(|&m| m == [0.0, 0.0]));
        // The same shift, explained: moved.
        let (conf, still) = matches(&shift, 0.1);
        let f = field(&shift, &conf, &still, tx);
        assert_eq!(f.kind, FieldKind::Moved);
        assert!(f
            .motion
            .iter()
            .all(|&m| (m[0] - 2.0).abs() < 1e-4 && m[1].abs() < 1e-4));
    }
}
