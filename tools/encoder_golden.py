#!/usr/bin/python3
"""Golden vectors for the f-AnoGAN encoder E and its izi_f objective, made with PyTorch.

E mirrors the seed's discriminator (four Conv k4 s2 p1 blocks with BatchNorm + LeakyReLU 0.1)
and ends in a Conv 8w -> zdim k4 (linear). The objective (Schlegl et al., Medical Image Analysis
2019, izi_f): MSE(x, G(E(x))) + kappa * MSE(f(x), f(G(E(x)))), G and D frozen in eval mode, E in
train mode. A tiny architecture (width 8, zdim 6) keeps the file small enough to commit.

  /usr/bin/python3 tools/encoder_golden.py tests/data/encoder_golden.safetensors
(needs Debian's python3-torch; ../shared/peer/ref_anogan.py is reused for G, D and the writer)"""
import os, sys
import torch, torch.nn as nn, torch.nn.functional as F

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, '..', '..', 'shared', 'peer'))
import ref_anogan as ref  # noqa: E402

W, Z, KAPPA, B = 8, 6, 1.0, 3


def cba(i, o, bn=True):
    return nn.Sequential(nn.Conv2d(i, o, 4, 2, 1), nn.BatchNorm2d(o), nn.LeakyReLU(0.1, inplace=True))


class Encoder(nn.Module):
    def __init__(self):
        super().__init__()
        self.feature_network = nn.Sequential(cba(1, W), cba(W, 2 * W), cba(2 * W, 4 * W), cba(4 * W, 8 * W))
        self.latent_network = nn.Conv2d(8 * W, Z, 4, 1)

    def forward(self, x):
        return self.latent_network(self.feature_network(x))


class Generator(nn.Module):
    def __init__(self):
        super().__init__()
        def c(i, o, s=2, p=1, last=False):
            seq = [nn.ConvTranspose2d(i, o, 4, s, p)]
            seq += [nn.Tanh()] if last else [nn.BatchNorm2d(o), nn.ReLU(inplace=True)]
            return nn.Sequential(*seq)
        self.generator_network = nn.Sequential(c(Z, 8 * W, 1, 0), c(8 * W, 4 * W), c(4 * W, 2 * W),
                                               c(2 * W, W), c(W, 1, last=True))

    def forward(self, z):
        return self.generator_network(z)


class Discriminator(nn.Module):
    def __init__(self):
        super().__init__()
        self.feature_network = nn.Sequential(cba(1, W), cba(W, 2 * W), cba(2 * W, 4 * W), cba(4 * W, 8 * W))
        self.critic_network = nn.Conv2d(8 * W, 1, 4, 1)

    def forward(self, x):
        f = self.feature_network(x)
        return self.critic_network(f), f


def main(out):
    torch.manual_seed(0)
    G, D, E = Generator(), Discriminator(), Encoder()
    for m in list(G.modules()) + list(D.modules()) + list(E.modules()):
        if isinstance(m, nn.BatchNorm2d):
            m.running_mean.uniform_(-0.2, 0.2); m.running_var.uniform_(0.5, 1.5)
            m.weight.data.uniform_(0.8, 1.2); m.bias.data.uniform_(-0.1, 0.1)
    t = {}
    for pre, net in (('G.', G), ('D.', D), ('E.', E)):
        for k, v in net.state_dict().items():
            if 'num_batches' not in k:
                t[pre + k] = v.clone()
    x = torch.rand(B, 1, 64, 64) * 2 - 1
    G.eval(); D.eval()
    for p in list(G.parameters()) + list(D.parameters()):
        p.requires_grad_(False)
    E.eval()
    with torch.no_grad():
        t['out.E_x_eval'] = E(x)
    E.train()
    zx = E(x)
    t['out.E_x_train'] = zx.detach().clone()
    gx = G(zx)
    _, fx = D(x)
    _, fg = D(gx)
    loss = F.mse_loss(gx, x) + KAPPA * F.mse_loss(fg, fx)
    loss.backward()
    t['out.izif_loss'] = loss.detach().reshape(1)
    for k, p in E.named_parameters():
        t['grad.E.' + k] = p.grad.clone()
    for k, v in E.state_dict().items():
        if 'running' in k:
            t['out.after_train_forward.E.' + k] = v.clone()
    t['in.x'] = x
    meta = {'about': 'tiny seed-shaped G, D and f-AnoGAN encoder E (width 8, zdim 6), random init '
                     '(torch.manual_seed(0)), BatchNorm with non-trivial running statistics',
            'zdim': str(Z), 'width': str(W), 'image_size': '64', 'channels': '1', 'mean': '0.5', 'std': '0.5',
            'kappa': str(KAPPA),
            'objective': 'izi_f: mse(G(E(x)), x) + kappa * mse(f(G(E(x))), f(x)); E train mode, G and D eval',
            'made_by': 'tools/encoder_golden.py'}
    ref.save_safetensors(out, t, meta)
    print('wrote', out, 'loss', loss.item())


if __name__ == '__main__':
    main(sys.argv[1])
