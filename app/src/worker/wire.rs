//! Typed messages over `postMessage`: a value's small part travels as JSON, its pixel and
//! probability buffers beside it as typed arrays that are transferred, not copied, and files as
//! `File` handles. [`pack`] builds the message and its transfer list in one place; [`unpack`]
//! reads it back into the same Rust type, on either side.

use std::cell::RefCell;
use std::ops::Range;
use std::sync::Arc;

use image::{GrayImage, RgbImage};
use js_sys::{Array, Float32Array, Object, Reflect, Uint8Array};
use serde::de::{DeserializeOwned, Error as _};
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use wasm_bindgen::{JsCast, JsValue};


thread_local! {
    /// What the value being packed put beside its JSON, and whether to transfer it.
    static OUT: RefCell<Vec<(JsValue, bool)>> = const { RefCell::new(Vec::new()) };
    /// The buffers of the message being unpacked; each is taken once.
    static IN: RefCell<Vec<Option<JsValue>>> = const { RefCell::new(Vec::new()) };
}

/// A property of a plain JS object (messages, and what workers post besides them).
pub fn set(object: &Object, key: &str, value: impl Into<JsValue>) {
    let _ = Reflect::set(object, &JsValue::from_str(key), &value.into());
}

pub fn get(object: &JsValue, key: &str) -> JsValue {
    Reflect::get(object, &JsValue::from_str(key)).unwrap_or(JsValue::UNDEFINED)
}

pub fn get_f64(object: &JsValue, key: &str) -> Option<f64> {
    get(object, key).as_f64()
}

pub fn get_string(object: &JsValue, key: &str) -> Option<String> {
    get(object, key).as_string()
}

fn stash(value: JsValue, transfer: bool) -> u32 {
    OUT.with(|o| {
        let mut o = o.borrow_mut();
        o.push((value, transfer));
        (o.len() - 1) as u32
    })
}

fn take<'de, D: Deserializer<'de>>(d: D) -> Result<JsValue, D::Error> {
    let index = u32::deserialize(d)? as usize;
    IN.with(|i| i.borrow_mut().get_mut(index).and_then(Option::take)).ok_or_else(|| D::Error::custom(format!("buffer {index} missing from the message")))
}

/// `value` as a message object (`json` and `buffers`) and the list of buffers to transfer.
pub fn pack<T: Serialize>(value: &T) -> Result<(Object, Array), String> {
    OUT.with(|o| o.borrow_mut().clear());
    let json = serde_json::to_string(value);
    let parts = OUT.with(|o| std::mem::take(&mut *o.borrow_mut()));
    let json = json.map_err(|e| format!("cannot encode the message: {e}"))?;
    let (buffers, transfer) = (Array::new(), Array::new());
    for (value, move_it) in parts {
        let buffer = value.dyn_ref::<Uint8Array>().map(Uint8Array::buffer).or_else(|| value.dyn_ref::<Float32Array>().map(Float32Array::buffer));
        if let (true, Some(buffer)) = (move_it, buffer) {
            transfer.push(&buffer);
        }
        buffers.push(&value);
    }
    let msg = Object::new();
    set(&msg, "json", json);
    set(&msg, "buffers", buffers);
    Ok((msg, transfer))
}

/// The value [`pack`] put in `msg`.
pub fn unpack<T: DeserializeOwned>(msg: &JsValue) -> Result<T, String> {
    let buffers = get(msg, "buffers").dyn_into::<Array>().map_err(|_| "no buffers in the message")?;
    IN.with(|i| *i.borrow_mut() = buffers.iter().map(Some).collect());
    let value = serde_json::from_str(&get_string(msg, "json").unwrap_or_default());
    IN.with(|i| i.borrow_mut().clear());
    value.map_err(|e| format!("cannot read the message: {e}"))
}

/// A wrapper of a Rust vector that travels as a transferred JS typed array.
macro_rules! typed_array {
    ($(#[$doc:meta])* $name:ident($elem:ty) as $array:ident) => {
        $(#[$doc])*
        #[derive(Debug, Clone, Default, PartialEq)]
        pub struct $name(pub Vec<$elem>);

        impl Serialize for $name {
            fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                stash($array::from(self.0.as_slice()).into(), true).serialize(s)
            }
        }

        impl<'de> Deserialize<'de> for $name {
            fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
                let array = take(d)?.dyn_into::<$array>().map_err(|_| D::Error::custom(concat!("not a ", stringify!($array))))?;
                Ok($name(array.to_vec()))
            }
        }
    };
}

typed_array!(
    /// Bytes (pixels, files made in a worker) as a `Uint8Array`.
    Bytes(u8) as Uint8Array
);
typed_array!(
    /// Floats (probabilities) as a `Float32Array`.
    Floats(f32) as Float32Array
);

/// Bytes left in JS memory where they arrive: the page copies a study's slices into its own
/// memory a few at a time, between frames, instead of all of them in one task.
#[derive(Debug, Clone)]
pub struct JsBytes(pub Uint8Array);

impl Serialize for JsBytes {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        stash(self.0.clone().into(), true).serialize(s)
    }
}

impl<'de> Deserialize<'de> for JsBytes {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        take(d)?.dyn_into::<Uint8Array>().map(JsBytes).map_err(|_| D::Error::custom("not a Uint8Array"))
    }
}

/// An RGB slice whose pixels stay in JS memory until [`JsPixels::into_rgb`].
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct JsPixels {
    pub width: u32,
    pub height: u32,
    pub bytes: JsBytes,
}

impl JsPixels {
    pub fn rgb(image: &RgbImage) -> JsPixels {
        JsPixels { width: image.width(), height: image.height(), bytes: JsBytes(Uint8Array::from(image.as_raw().as_slice())) }
    }

    pub fn into_rgb(self) -> Result<RgbImage, String> {
        let (w, h) = (self.width, self.height);
        RgbImage::from_raw(w, h, self.bytes.0.to_vec()).ok_or_else(|| format!("pixels do not fill {w}x{h} RGB"))
    }
}

/// A file handed to a worker (structured clone: the worker reads it, the page never does).
#[derive(Debug, Clone)]
pub struct FileRef(pub web_sys::File);

impl Serialize for FileRef {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        stash(self.0.clone().into(), false).serialize(s)
    }
}

impl<'de> Deserialize<'de> for FileRef {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        take(d)?.dyn_into::<web_sys::File>().map(FileRef).map_err(|_| D::Error::custom("not a file"))
    }
}

/// An 8-bit image (RGB slice or gray mask) with its size.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Pixels {
    pub width: u32,
    pub height: u32,
    pub bytes: Bytes,
}

impl Pixels {
    pub fn gray(mask: &GrayImage) -> Pixels {
        Pixels { width: mask.width(), height: mask.height(), bytes: Bytes(mask.as_raw().clone()) }
    }

    pub fn into_rgb(self) -> Result<RgbImage, String> {
        let (w, h) = (self.width, self.height);
        RgbImage::from_raw(w, h, self.bytes.0).ok_or_else(|| format!("pixels do not fill {w}x{h} RGB"))
    }

    pub fn into_gray(self) -> Result<GrayImage, String> {
        let (w, h) = (self.width, self.height);
        GrayImage::from_raw(w, h, self.bytes.0).ok_or_else(|| format!("pixels do not fill a {w}x{h} mask"))
    }

    /// A study's masks, in slice order, as they travelled.
    pub fn into_grays(masks: Vec<Pixels>) -> Result<Vec<GrayImage>, String> {
        masks.into_iter().map(Pixels::into_gray).collect()
    }
}

/// The slices a model needs for one slice of a volume: on the page a window of the study's
/// shared slices (nothing copied until the message is packed), in the worker its own copies.
#[derive(Debug, Clone)]
pub enum Stack {
    Shared(Arc<Vec<RgbImage>>, Range<usize>),
    Owned(Vec<RgbImage>),
}

impl Stack {
    pub fn images(&self) -> &[RgbImage] {
        match self {
            Stack::Shared(volume, range) => volume.get(range.clone()).unwrap_or_default(),
            Stack::Owned(images) => images,
        }
    }
}

/// A slice packed straight from the page's copy: one copy into a JS buffer, none in wasm.
struct Borrowed<'a>(&'a RgbImage);

impl Serialize for Borrowed<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        #[derive(Serialize)]
        struct Fields {
            width: u32,
            height: u32,
            bytes: u32,
        }
        let bytes = stash(Uint8Array::from(self.0.as_raw().as_slice()).into(), true);
        Fields { width: self.0.width(), height: self.0.height(), bytes }.serialize(s)
    }
}

impl Serialize for Stack {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_seq(self.images().iter().map(Borrowed))
    }
}

impl<'de> Deserialize<'de> for Stack {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let pixels = Vec::<Pixels>::deserialize(d)?;
        pixels.into_iter().map(Pixels::into_rgb).collect::<Result<_, _>>().map(Stack::Owned).map_err(D::Error::custom)
    }
}
