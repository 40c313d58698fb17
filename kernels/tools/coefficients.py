import mpmath as mp, struct
mp.mp.dps = 50
def f32(v): return struct.unpack('f', struct.pack('f', float(v)))[0]
def g_tanh(z):
    if z == 0: return mp.mpf(-1)/3
    x = mp.sqrt(z); return (mp.tanh(x)/x - 1)/z
def g_atan(z):
    if z == 0: return mp.mpf(-1)/3
    x = mp.sqrt(z); return (mp.atan(x)/x - 1)/z
for name, g, T, N, ty in [("TANH_F32", g_tanh, 1, 8, 'f32'), ("TANH_F64", g_tanh, mp.mpf(0.625)**2, 12, 'f64'),
                          ("ATAN_F32", g_atan, mp.tan(mp.pi/8)**2, 6, 'f32'), ("ATAN_F64", g_atan, mp.tan(mp.pi/8)**2, 12, 'f64')]:
    c, err = mp.chebyfit(g, [0, T], N, error=True)
    c = c[::-1]  # chebyfit returns highest degree first
    vals = [f32(v) if ty=='f32' else float(v) for v in c]
    print(f"// {name}: err {mp.nstr(err,3)}")
    print(f"const {name}: [{ty}; {N}] = [" + ", ".join(repr(v) for v in vals) + "];")
# split constants
def split(v, ty, parts):
    out=[]; r=mp.mpf(v)
    for i in range(parts):
        p = f32(r) if ty=='f32' else float(r); out.append(p); r -= mp.mpf(p)
    return out
print("LN2 f32 hi16", f32(mp.floor(mp.ln2 * 2**15)/2**15), repr(f32(mp.ln2 - mp.mpf(f32(mp.floor(mp.ln2 * 2**15)/2**15)))))
print("LN2 f64 hi", repr(float(mp.floor(mp.ln2 * 2**42)/2**42)), repr(float(mp.ln2 - mp.floor(mp.ln2 * 2**42)/2**42)))
print("LN2 split f32", split(mp.ln2,'f32',2), "f64", split(mp.ln2,'f64',2))
print("PIO2 f32", split(mp.pi/2,'f32',3), "f64", split(mp.pi/2,'f64',3))
print("PI f32", split(mp.pi,'f32',2), "f64", split(mp.pi,'f64',2))
print("PIO4 f32", split(mp.pi/4,'f32',2), "f64", split(mp.pi/4,'f64',2))
print("sqrt(2/pi)", f32(mp.sqrt(2/mp.pi)), repr(float(mp.sqrt(2/mp.pi))))
print("LOG2E", f32(1/mp.ln2), repr(float(1/mp.ln2)), "2/pi", f32(2/mp.pi), repr(float(2/mp.pi)))
print("SQRT2", f32(mp.sqrt(2)), repr(float(mp.sqrt(2))))

# ln f64: Chebyshev fit of the atanh-series tail h(z) = (2 atanh(sqrt z)/sqrt z - 2)/z on
# z <= ((sqrt2-1)/(sqrt2+1))^2, 7 terms.
zmax = ((mp.sqrt(2) - 1) / (mp.sqrt(2) + 1))**2
def h_ln(z):
    if z == 0: return mp.mpf(2) / 3
    x = mp.sqrt(z); return (2 * mp.atanh(x) / x - 2) / z
c, err = mp.chebyfit(h_ln, [0, zmax], 7, error=True)
print(f"// LN_F64: err {mp.nstr(err, 3)}")
print("const LN_F64: [f64; 7] = [" + ", ".join(repr(float(v)) for v in c[::-1]) + "];")
