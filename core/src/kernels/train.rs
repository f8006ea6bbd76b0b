//! [`CpuKernels`] under autodiff: the forward runs the `flex` kernel and records a node whose
//! backward computes both gradients with our kernels (Burn's generic fallback is what this
//! module exists to avoid).

use burn::backend::autodiff::NodeId;
use burn::backend::autodiff::checkpoint::base::Checkpointer;
use burn::backend::autodiff::checkpoint::strategy::CheckpointStrategy;
use burn::backend::autodiff::grads::Gradients;
use burn::backend::autodiff::ops::{Backward, Ops, OpsKind};
use burn::backend::tensor::FloatTensor;
use burn::backend::{Autodiff, Flex};

use super::CpuKernels;
use super::flex::{all_f32, burn_conv3x3, burn_conv3x3_cat, burn_max_pool2x2, cat_dims, dims, f32s, norm_dims, pool_dims, tensor};
use super::group_norm::{self, Stats};
use super::conv3x3::Planes;
use super::{conv3x3, pool};

#[derive(Debug)]
struct Conv3x3Backward;

impl Backward<Flex, 3> for Conv3x3Backward {
    type State = (NodeId, NodeId);

    fn backward(self, ops: Ops<Self::State, 3>, grads: &mut Gradients, checkpointer: &mut Checkpointer) {
        let [node_x, node_weight, node_bias] = ops.parents;
        let grad = grads.consume::<Flex>(&ops.node);
        let (x_state, weight_state) = ops.state;
        let x: FloatTensor<Flex> = checkpointer.retrieve_node_output(x_state);
        let weight: FloatTensor<Flex> = checkpointer.retrieve_node_output(weight_state);
        let d = dims(&x, &weight);
        let g = f32s(&grad);
        if let Some(node) = node_x {
            let dx = conv3x3::input_grad(&g, &f32s(&weight), d);
            grads.register::<Flex>(node.id, tensor(dx, [d.batch, d.c_in, d.h, d.w]));
        }
        if let Some(node) = node_weight {
            let dw = conv3x3::weight_grad(&f32s(&x), &g, d);
            grads.register::<Flex>(node.id, tensor(dw, [d.c_out, d.c_in, 3, 3]));
        }
        if let Some(node) = node_bias {
            grads.register::<Flex>(node.id, tensor(conv3x3::bias_grad(&g, d), [d.c_out]));
        }
    }
}

#[derive(Debug)]
struct Conv3x3CatBackward;

impl Backward<Flex, 4> for Conv3x3CatBackward {
    type State = (NodeId, NodeId, NodeId);

    fn backward(self, ops: Ops<Self::State, 4>, grads: &mut Gradients, checkpointer: &mut Checkpointer) {
        let [node_a, node_b, node_weight, node_bias] = ops.parents;
        let grad = grads.consume::<Flex>(&ops.node);
        let a: FloatTensor<Flex> = checkpointer.retrieve_node_output(ops.state.0);
        let b: FloatTensor<Flex> = checkpointer.retrieve_node_output(ops.state.1);
        let weight: FloatTensor<Flex> = checkpointer.retrieve_node_output(ops.state.2);
        let (d, [c_a, c_b]) = cat_dims(&a, &b, &weight);
        let g = f32s(&grad);
        if node_a.is_some() || node_b.is_some() {
            let mut parts = conv3x3::input_grad_parts(&g, &f32s(&weight), d, &[c_a, c_b]).into_iter();
            for (node, c) in [(node_a, c_a), (node_b, c_b)] {
                let part = parts.next().unwrap_or_default();
                if let Some(node) = node {
                    grads.register::<Flex>(node.id, tensor(part, [d.batch, c, d.h, d.w]));
                }
            }
        }
        if let Some(node) = node_weight {
            let (a, b) = (f32s(&a), f32s(&b));
            let dw = conv3x3::weight_grad_parts(Planes::cat(&a, c_a, &b, c_b, d.h * d.w), &g, d);
            grads.register::<Flex>(node.id, tensor(dw, [d.c_out, d.c_in, 3, 3]));
        }
        if let Some(node) = node_bias {
            grads.register::<Flex>(node.id, tensor(conv3x3::bias_grad(&g, d), [d.c_out]));
        }
    }
}

#[derive(Debug)]
struct GroupNormReluBackward;

impl Backward<Flex, 3> for GroupNormReluBackward {
    /// Input, gamma, beta, the forward's statistics, groups.
    type State = (NodeId, NodeId, NodeId, Stats, usize);

    fn backward(self, ops: Ops<Self::State, 3>, grads: &mut Gradients, checkpointer: &mut Checkpointer) {
        let [node_x, node_gamma, node_beta] = ops.parents;
        let grad = grads.consume::<Flex>(&ops.node);
        let (x_state, gamma_state, beta_state, stats, groups) = ops.state;
        let x: FloatTensor<Flex> = checkpointer.retrieve_node_output(x_state);
        let gamma: FloatTensor<Flex> = checkpointer.retrieve_node_output(gamma_state);
        let beta: FloatTensor<Flex> = checkpointer.retrieve_node_output(beta_state);
        let d = norm_dims(&x, groups);
        let (dx, dgamma, dbeta) =
            group_norm::backward(&f32s(&x), &f32s(&gamma), &f32s(&beta), &stats, &f32s(&grad), d);
        if let Some(node) = node_x {
            grads.register::<Flex>(node.id, tensor(dx, [d.batch, d.channels, d.plane]).reshape(x.layout().shape().clone()));
        }
        if let Some(node) = node_gamma {
            grads.register::<Flex>(node.id, tensor(dgamma, [d.channels]));
        }
        if let Some(node) = node_beta {
            grads.register::<Flex>(node.id, tensor(dbeta, [d.channels]));
        }
    }
}

#[derive(Debug)]
struct MaxPool2x2Backward;

impl Backward<Flex, 1> for MaxPool2x2Backward {
    type State = NodeId;

    fn backward(self, ops: Ops<Self::State, 1>, grads: &mut Gradients, checkpointer: &mut Checkpointer) {
        let [node_x] = ops.parents;
        let grad = grads.consume::<Flex>(&ops.node);
        let x: FloatTensor<Flex> = checkpointer.retrieve_node_output(ops.state);
        if let Some(node) = node_x {
            let (d, [batch, channels]) = pool_dims(&x);
            let dx = pool::backward(&f32s(&x), &f32s(&grad), d);
            grads.register::<Flex>(node.id, tensor(dx, [batch, channels, d.h, d.w]));
        }
    }
}

impl<C: CheckpointStrategy> CpuKernels for Autodiff<Flex, C> {
    fn conv3x3(x: FloatTensor<Self>, weight: FloatTensor<Self>, bias: FloatTensor<Self>) -> FloatTensor<Self> {
        // The backward kernels are f32; other dtypes keep Burn's differentiable convolution.
        if !all_f32::<Self>(&[&x, &weight, &bias]) {
            return burn_conv3x3::<Self>(x, weight, bias);
        }
        match Conv3x3Backward.prepare::<C>([x.node(), weight.node(), bias.node()]).compute_bound().stateful() {
            OpsKind::Tracked(mut prep) => {
                let states = (prep.checkpoint(&x), prep.checkpoint(&weight));
                let y = Flex::conv3x3(x.into_primitive(), weight.into_primitive(), bias.into_primitive());
                prep.finish(states, y)
            }
            OpsKind::UnTracked(prep) => {
                prep.finish(Flex::conv3x3(x.into_primitive(), weight.into_primitive(), bias.into_primitive()))
            }
        }
    }

    fn conv3x3_cat(
        a: FloatTensor<Self>,
        b: FloatTensor<Self>,
        weight: FloatTensor<Self>,
        bias: FloatTensor<Self>,
    ) -> FloatTensor<Self> {
        if !all_f32::<Self>(&[&a, &b, &weight, &bias]) {
            return burn_conv3x3_cat::<Self>(a, b, weight, bias);
        }
        let parents = [a.node(), b.node(), weight.node(), bias.node()];
        match Conv3x3CatBackward.prepare::<C>(parents).compute_bound().stateful() {
            OpsKind::Tracked(mut prep) => {
                let states = (prep.checkpoint(&a), prep.checkpoint(&b), prep.checkpoint(&weight));
                let y = Flex::conv3x3_cat(a.into_primitive(), b.into_primitive(), weight.into_primitive(), bias.into_primitive());
                prep.finish(states, y)
            }
            OpsKind::UnTracked(prep) => prep.finish(Flex::conv3x3_cat(
                a.into_primitive(),
                b.into_primitive(),
                weight.into_primitive(),
                bias.into_primitive(),
            )),
        }
    }

    fn group_norm_relu(
        x: FloatTensor<Self>,
        gamma: FloatTensor<Self>,
        beta: FloatTensor<Self>,
        groups: usize,
        epsilon: f64,
    ) -> FloatTensor<Self> {
        let prep = GroupNormReluBackward.prepare::<C>([x.node(), gamma.node(), beta.node()]);
        match prep.compute_bound().stateful() {
            OpsKind::Tracked(mut prep) => {
                let states = (prep.checkpoint(&x), prep.checkpoint(&gamma), prep.checkpoint(&beta));
                let (x, gamma, beta) = (x.into_primitive(), gamma.into_primitive(), beta.into_primitive());
                let shape = x.layout().shape().clone();
                let d = norm_dims(&x, groups);
                let (y, stats) = group_norm::forward(&f32s(&x), &f32s(&gamma), &f32s(&beta), epsilon as f32, d);
                let y = tensor(y, [d.batch, d.channels, d.plane]).reshape(shape);
                prep.finish((states.0, states.1, states.2, stats, groups), y)
            }
            OpsKind::UnTracked(prep) => prep.finish(Flex::group_norm_relu(
                x.into_primitive(),
                gamma.into_primitive(),
                beta.into_primitive(),
                groups,
                epsilon,
            )),
        }
    }

    fn max_pool2x2(x: FloatTensor<Self>) -> FloatTensor<Self> {
        if !all_f32::<Self>(&[&x]) {
            return burn_max_pool2x2::<Self>(x);
        }
        match MaxPool2x2Backward.prepare::<C>([x.node()]).compute_bound().stateful() {
            OpsKind::Tracked(mut prep) => {
                let state = prep.checkpoint(&x);
                prep.finish(state, Flex::max_pool2x2(x.into_primitive()))
            }
            OpsKind::UnTracked(prep) => prep.finish(Flex::max_pool2x2(x.into_primitive())),
        }
    }
}
