//! probe
mod common;
use autodiff::*;

#[test]
fn p_empty() {
    let e = Tensor::<f64>::zeros(&[0]);
    let s = Tensor::scalar(2.0);
    let r = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| { let y = &e + &s; (y.shape().to_vec(), y.to_vec()) }));
    eprintln!("empty + scalar {:?}", r);
    let r = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| { let y = &s * &e; (y.shape().to_vec(), y.to_vec()) }));
    eprintln!("scalar * empty {:?}", r);
    let e2 = Tensor::<f64>::zeros(&[0, 3]);
    let r = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| { let y = &e2 + &Tensor::ones(&[3]); (y.shape().to_vec(), y.to_vec()) }));
    eprintln!("[0,3] + [3] {:?}", r);
    let r = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| { let y = e2.matmul(&Tensor::ones(&[3, 2])); (y.shape().to_vec(), y.to_vec()) }));
    eprintln!("[0,3] @ [3,2] {:?}", r);
    let r = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| { let y = Tensor::<f64>::ones(&[2, 0]).matmul(&Tensor::ones(&[0, 2])); (y.shape().to_vec(), y.to_vec()) }));
    eprintln!("[2,0] @ [0,2] {:?}", r);
    let r = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| { let y = e2.softmax(1); (y.shape().to_vec(), y.to_vec()) }));
    eprintln!("softmax [0,3] {:?}", r);
    let r = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| { grad(|x| (x * 2.0).sum(), &e).shape().to_vec() }));
    eprintln!("grad empty*2 {:?}", r);
}
