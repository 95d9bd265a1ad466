"""The dual-attention network of Matamoros Aragon, Zoppis and Manzoni (xAI 2023), Table 1.

Trace A (similarity coefficients) attends from a user over its top-K cosine neighbours;
Trace B (recommendation coefficients) is graph attention of the user over the items it rated,
on the user-item bipartite graph. A dense layer maps both context vectors to a score
distribution over all items. docs/model.md pairs every equation with the lines below.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import torch
import torch.nn.functional as F
from torch import nn
from torch_geometric.utils import scatter
from torch_geometric.utils import softmax as edge_softmax

from attnrec.model.batching import Batch
from attnrec.model.config import ModelConfig, uses_item_item


@dataclass
class Output:
    """What one forward pass returns for B users with E input edges and K neighbours.

    Attributes:
        logits: (B, n) unnormalised scores; y^ = softmax(logits) over all items.
        rec_attention: (E,) last layer's recommendation coefficients alpha_rec, aligned with
            the batch's input edges; they sum to 1 over each user's rated items N(u).
        rec_attention_layers: one (E,) tensor per layer.
        sim_attention: (B, K) similarity coefficients alpha_sim over each user's neighbours;
            0 on padding, rows sum to 1 (or 0 for a user without neighbours).
    """

    logits: torch.Tensor
    rec_attention: torch.Tensor
    rec_attention_layers: list[torch.Tensor]
    sim_attention: torch.Tensor


class RecommendationAttention(nn.Module):
    """One layer of Trace B: GAT-style attention of users over the items they rated.

    e(u,i) = LeakyReLU(w_a [W h(u) || W' h(i)])                    (Trace B, Eq. 2)
    alpha(u,i) = softmax of e(u,.) over i in N(u)                   (Trace B, Eq. 3)
    h(u)' = sigma(sum_j alpha(u,j) W' h(j))                         (Trace B, Eq. 4)
    """

    def __init__(self, dim: int, negative_slope: float, uses_rating: bool) -> None:
        super().__init__()
        self.user_lin = nn.Linear(dim, dim, bias=False)
        self.item_lin = nn.Linear(dim, dim, bias=False)
        # w_a split in its user half and item half, as PyG's GATConv does
        self.att_user = nn.Parameter(torch.empty(dim))
        self.att_item = nn.Parameter(torch.empty(dim))
        self.att_rating = nn.Parameter(torch.zeros(1)) if uses_rating else None
        self.negative_slope = negative_slope
        nn.init.normal_(self.att_user, std=dim**-0.5)
        nn.init.normal_(self.att_item, std=dim**-0.5)

    def forward(
        self,
        user_state: torch.Tensor,
        item_state: torch.Tensor,
        batch: Batch,
        attention: torch.Tensor | None = None,
    ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """One round of attention.

        Args:
            user_state: (B, d) h(u, k).
            item_state: (E, d) h(i, k) of the item at each input edge.
            batch: the batch, for its edges.
            attention: (E,) coefficients to use instead of the computed ones (counterfactuals).

        Returns:
            (B, d) h(u, k+1), (E, d) h(i, k+1), and the (E,) coefficients used.
        """
        n_users = user_state.shape[0]
        user_h = self.user_lin(user_state)
        item_h = self.item_lin(item_state)

        # Eq. 2: LeakyReLU(w_a [h_u || h_i]) on every edge (u, i)
        logits = (user_h @ self.att_user)[batch.edge_user] + item_h @ self.att_item
        if self.att_rating is not None:
            logits = logits + self.att_rating * batch.edge_value
        logits = F.leaky_relu(logits, self.negative_slope)

        # Eq. 3: softmax over each user's rated items, with PyG's segment softmax
        alpha = edge_softmax(logits, batch.edge_user, num_nodes=n_users)
        if attention is not None:
            alpha = attention

        # Eq. 4: attention-weighted sum of the item states; items move on through W' and sigma
        context = scatter(
            alpha.unsqueeze(-1) * item_h, batch.edge_user, dim=0, dim_size=n_users, reduce="sum"
        )
        return F.elu(context), F.elu(item_h), alpha


class DualAttentionNet(nn.Module):
    """Both traces and the dense output layer F_Theta, over n items."""

    item_weights: torch.Tensor  # the item-item term's B, a buffer (only with the term)

    def __init__(self, n_items: int, config: ModelConfig) -> None:
        super().__init__()
        if not (config.use_similarity_trace or config.use_recommendation_trace):
            raise ValueError("at least one of the two attention traces must be used")
        dim = config.embedding_dim
        self.config = config
        self.n_items = n_items
        # W_A embeds neighbour profiles (Trace A); W_B embeds the user's profile and its
        # columns are the item states h(i, 0) (Trace B)
        self.W_A = nn.Parameter(torch.empty(n_items, dim))
        self.W_B = nn.Parameter(torch.empty(n_items, dim))
        self.w_sim = nn.Linear(dim, 1, bias=False)
        self.layers = nn.ModuleList(
            RecommendationAttention(dim, config.negative_slope, config.attention_uses_rating)
            for _ in range(config.n_layers)
        )
        n_traces = int(config.use_similarity_trace) + int(config.use_recommendation_trace)
        if config.output_layer == "dense":
            self.output = nn.Linear(n_traces * dim, n_items)
        else:
            # "tied": F_Theta's weight is [W_A; W_B]^T, so an item's output weights are its
            # input embeddings, trained by every rating of it; only the bias is its own
            self.output_bias = nn.Parameter(torch.zeros(n_items))
        self.item_item = uses_item_item(config, n_items)
        if self.item_item:
            # B: fixed item-item weights (EASE's closed form on the training ratings), given by
            # set_item_weights (no votes until then); not saved with the weights, since the
            # ratings give it back
            self.register_buffer("item_weights", torch.zeros(0, 0), persistent=False)
            # log gamma, so that the learned gain stays positive
            self.item_log_gain = nn.Parameter(torch.tensor(math.log(config.item_item_gain)))
        nn.init.xavier_uniform_(self.W_A)
        nn.init.xavier_uniform_(self.W_B)

    def forward(
        self,
        batch: Batch,
        rec_attention: torch.Tensor | None = None,
        sim_attention: torch.Tensor | None = None,
    ) -> Output:
        """Scores and both coefficient families for a batch.

        Args:
            batch: the users' input edges and neighbours.
            rec_attention: (E,) replaces the last layer's alpha_rec (counterfactual tests).
            sim_attention: (B, K) replaces alpha_sim (counterfactual tests).
        """
        sim_context, sim_alpha = self.similarity_trace(batch, sim_attention)
        rec_context, rec_layers = self.recommendation_trace(batch, rec_attention)

        logits = self.logits(batch, sim_context, rec_context, rec_layers[-1])
        return Output(logits, rec_layers[-1], rec_layers, sim_alpha)

    def logits(
        self,
        batch: Batch,
        sim_context: torch.Tensor,
        rec_context: torch.Tensor,
        rec_attention: torch.Tensor,
    ) -> torch.Tensor:
        """(B, n) logits: F_Theta over both contexts, plus the item-item votes if any."""
        logits = self.scores(sim_context, rec_context)
        if self.item_item and self.item_weights.numel() > 0:
            logits = logits + self.item_votes(batch, rec_attention)
        return logits

    def set_item_weights(self, weights: torch.Tensor) -> None:
        """Give the item-item term its (n, n) matrix B (EASE's closed form)."""
        if not self.item_item:
            raise ValueError("this network has no item-item term")
        if tuple(weights.shape) != (self.n_items, self.n_items):
            shape = tuple(weights.shape)
            raise ValueError(f"B must be {self.n_items} x {self.n_items}, not {shape}")
        # the buffer is replaced, not copied into: B can be large
        device = self.W_B.device
        weights = torch.as_tensor(weights, dtype=torch.float32, device=device)
        self.item_weights = weights.contiguous()  # row-major: 30x faster products than not

    def require_item_weights(self) -> None:
        """Refuse to train an item-item network whose B was never given: it would silently
        train without the term (and DDP would stop at the unused gain)."""
        if self.item_item and self.item_weights.numel() == 0:
            raise ValueError(
                "the network's item-item term has no B yet: call "
                "attnrec.model.recommender.set_item_item(network, scaled) before training"
            )

    def item_votes(self, batch: Batch, alpha: torch.Tensor) -> torch.Tensor:
        """(B, n) gamma x sum_i |N(u)| alpha_rec(u, i) w(u, i) B[i, :], over u's input edges,
        with w(u, i) = r(u, i)^p / mean_i r(u, i)^p (p = ``vote_rating_power``; 1 for p = 0).

        |N(u)| alpha_rec is 1 on every edge when the attention is uniform, so the votes are
        then EASE's scores on rating-weighted inputs (on binary inputs for p = 0); the
        attention decides which of u's items count more.
        """
        counts = torch.bincount(batch.edge_user, minlength=batch.n_users).to(alpha.dtype)
        per_edge = counts[batch.edge_user]
        weights = alpha * per_edge
        power = self.config.vote_rating_power
        if power > 0:
            # the mean of u's r^p is 1 after this: a rating's weight is relative to u's own
            value = batch.edge_value.to(alpha.dtype) ** power
            totals = scatter(value, batch.edge_user, dim=0, dim_size=batch.n_users, reduce="sum")
            weights = weights * value * per_edge / totals[batch.edge_user]
        # a sparse (B, n) matrix of the weights, times the dense B: cost E x n, not B x n x n
        votes = torch.sparse_coo_tensor(
            torch.stack([batch.edge_user, batch.edge_item]),
            weights,
            (batch.n_users, self.n_items),
            check_invariants=False,  # built from a batch's edges: sorted, no duplicates
        )
        return self.item_log_gain.exp() * torch.sparse.mm(votes, self.item_weights)

    def scores(self, sim_context: torch.Tensor, rec_context: torch.Tensor) -> torch.Tensor:
        """F_Theta(h_simcx || h(u, K)): (B, n) logits; y^ = softmax, left to the loss."""
        if self.config.output_layer == "dense":
            parts = []
            if self.config.use_similarity_trace:
                parts.append(sim_context)
            if self.config.use_recommendation_trace:
                parts.append(rec_context)
            return self.output(torch.cat(parts, dim=-1))
        logits = self.output_bias.expand(sim_context.shape[0], -1)
        if self.config.use_similarity_trace:
            logits = logits + sim_context @ self.W_A.T
        if self.config.use_recommendation_trace:
            logits = logits + rec_context @ self.W_B.T
        return logits

    def similarity_trace(
        self, batch: Batch, attention: torch.Tensor | None = None
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """Trace A: (B, d) context h_simcx and (B, K) coefficients alpha_sim."""
        # embedded neighbour profiles W_A y(v), one per distinct neighbour: (U, d)
        profiles = SparseEmbedding.apply(
            self.W_A, batch.neighbour_profiles, batch.neighbour_profiles_t
        )

        # a zero row that padding (-1) selects, so a batch whose users have no neighbour at
        # all (e.g. a user whose only item nobody else rated) still works
        profiles = torch.cat([profiles, profiles.new_zeros(1, profiles.shape[1])])

        # H_sim: column v of user u is s(u, v) W_A y(v)   (Trace A, Eq. 1): (B, K, d)
        mask = batch.neighbour_local >= 0
        columns = profiles[batch.neighbour_local]
        columns = columns * (batch.neighbour_similarity * mask).unsqueeze(-1)

        # e_sim = w_sim LeakyReLU(H_sim); alpha_sim = softmax over u's neighbours  (Eqs. 1-2)
        scores = self.w_sim(F.leaky_relu(columns, self.config.negative_slope)).squeeze(-1)
        alpha = masked_softmax(scores, mask)
        if attention is not None:
            alpha = attention

        # h_simcx = sum of the columns of alpha_sim o H_sim   (Eqs. 3-4)
        context = (alpha.unsqueeze(-1) * columns).sum(dim=1)
        return context, alpha

    def recommendation_trace(
        self, batch: Batch, attention: torch.Tensor | None = None
    ) -> tuple[torch.Tensor, list[torch.Tensor]]:
        """Trace B: (B, d) context h(u, K) and each layer's (E,) coefficients alpha_rec."""
        # h(u, 0) = W_B y(u) (Eq. 1); h(i, 0) is the i-th row of W_B
        user_state = F.embedding_bag(
            batch.edge_item,
            self.W_B,
            batch.offsets,
            mode="sum",
            per_sample_weights=batch.edge_weight,
        )
        item_state = self.W_B[batch.edge_item]

        alphas = []
        for depth, layer in enumerate(self.layers):
            override = attention if depth == len(self.layers) - 1 else None
            user_state, item_state, alpha = layer(user_state, item_state, batch, override)
            alphas.append(alpha)
        return user_state, alphas


class SparseEmbedding(torch.autograd.Function):
    """profiles @ weight for a sparse CSR ``profiles``, given its transpose for the backward.

    The forward is ``F.embedding_bag`` over the CSR arrays (fastest for one user as for
    thousands); the backward is one sparse x dense product with the transpose built with the
    batch, instead of embedding_bag's sort of every (row, item) pair: three times faster at
    MovieLens-20M size, where a batch's neighbour profiles hold millions of ratings.
    """

    @staticmethod
    def forward(  # type: ignore[override]
        ctx: Any, weight: torch.Tensor, profiles: torch.Tensor, profiles_t: torch.Tensor | None
    ) -> torch.Tensor:
        ctx.save_for_backward(profiles if profiles_t is None else profiles_t)
        ctx.transposed = profiles_t is not None
        return F.embedding_bag(
            profiles.col_indices(),
            weight,
            profiles.crow_indices()[:-1],
            mode="sum",
            per_sample_weights=profiles.values(),
        )

    @staticmethod
    def backward(ctx: Any, grad: torch.Tensor) -> tuple[torch.Tensor | None, None, None]:  # type: ignore[override]
        (saved,) = ctx.saved_tensors
        # a batch built without the transpose (not for_training): let torch transpose
        profiles_t = saved if ctx.transposed else saved.t()
        if profiles_t.shape[1] == 0:
            return grad.new_zeros(profiles_t.shape[0], grad.shape[1]), None, None
        return torch.sparse.mm(profiles_t, grad.contiguous()), None, None


def masked_softmax(scores: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    """Softmax over the last dimension restricted to ``mask``; an all-masked row gives zeros."""
    scores = scores.masked_fill(~mask, float("-inf"))
    has_any = mask.any(dim=-1, keepdim=True)
    scores = torch.where(has_any, scores, torch.zeros_like(scores))
    return torch.softmax(scores, dim=-1) * mask


def loss_terms(
    output: Output, batch: Batch, target_power: float = 1.0
) -> tuple[torch.Tensor, torch.Tensor]:
    """The two cross-entropies of the paper's loss, averaged over the batch's users.

    L = -sum_j ybar_j log y^_j  -  lambda sum_{j in N(u)} ybar_j log alpha_rec_j

    Args:
        output: the forward pass.
        batch: the batch, for its targets and input edges.
        target_power: q of the accuracy term's target, ybar_j = r_j^q / sum r^q (1: the paper's).

    Returns:
        (accuracy term, alignment term); the caller weights the second by lambda.
    """
    n_users = batch.n_users
    log_probs = F.log_softmax(output.logits, dim=-1)
    target = batch.target_weight
    if target_power != 1.0:
        # (r / sum r)^q renormalised is r^q / sum r^q: the batch's ybar needs no rebuild
        target = target**target_power
        sums = scatter(target, batch.target_user, dim=0, dim_size=n_users, reduce="sum")
        target = target / sums[batch.target_user].clamp(min=1e-12)
    accuracy = -(target * log_probs[batch.target_user, batch.target_item]).sum()

    # ybar over the input items N(u), renormalised so both sides are distributions over N(u)
    totals = scatter(batch.edge_value, batch.edge_user, dim=0, dim_size=n_users, reduce="sum")
    ybar = batch.edge_value / totals[batch.edge_user].clamp(min=1e-12)
    alignment = -(ybar * torch.log(output.rec_attention.clamp(min=1e-12))).sum()
    return accuracy / n_users, alignment / n_users
