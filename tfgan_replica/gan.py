"""GAN models whose `train_step` alternates critic and generator updates.

`GAN` holds the training loop and the cross-entropy (BCE) family; `HingeGAN`,
`WGANClip` and `WGANGP` change only the adversarial losses or what happens
after a critic update. The generator's moving average is in `ema`, the
mixed_float16 loss scaling in `loss_scaling`.

One `train_step` is one critic iteration: the discriminator (critic) is
updated on the fresh real batch it is given, and the generator is updated
after every `n_critic`-th critic update. With `n_critic=1` both networks are
updated on every step; with `n_critic=5` an epoch of N batches makes N critic
updates and N // 5 generator updates, as in Arjovsky et al. (each critic
update sees new real data). With `n_critic_in_step=True` a step instead makes
`n_critic` critic updates on its one batch (fresh fakes each time) and then a
generator update: Algorithm 1 put into a loop of one step per batch, as the
TensorFlow tutorial's loop would hold it (N generator updates an epoch).

Losses are per-replica batch means divided by the number of replicas, so
that the optimizers' sum of replica gradients is the gradient of the
global-batch mean (the convention Keras uses for compiled losses).
"""

import keras
import numpy as np
import tensorflow as tf

from tfgan_replica import ema, loss_scaling, losses, sampling
from tfgan_replica.choices import REAL_TARGET
from tfgan_replica.errors import InputError
from tfgan_replica.replicas import assign_each, local_rows, reducible, run_if


_LOSS_SCALE_METRICS = ("loss_scale", "g_loss_scale")


def _as_float32(tensor):
    return tf.cast(tensor, tf.float32)


class LastValue(keras.metrics.Metric):
    """The latest step's value of a training metric (the mean over replicas when read).

    The trackers give Keras epoch-to-date means; TensorBoard wants what one step did.
    """

    def __init__(self, name, **kwargs):
        super().__init__(name=name, **kwargs)
        self.value = self.add_variable((), "zeros", aggregation="mean", name="value")

    def update_state(self, value):
        self.value.assign(tf.cast(value, self.dtype))

    def result(self):
        return self.value

    def reset_state(self):
        self.value.assign(0.0)


@keras.saving.register_keras_serializable(package="tfgan_replica")
class GAN(keras.Model):
    """Generator and discriminator trained with binary cross-entropy.

    Args:
      generator: model mapping (batch, latent_dim) noise to images.
      discriminator: model mapping images to float32 logits (batch, 1).
      latent_dim: size of the N(0, I) noise vector.
      real_target: label of real images in the discriminator loss; 0.9 is
        one-sided label smoothing, 1.0 (the default) or None the plain loss (the
        families without labels set None).
      n_critic: critic updates per generator update (see module docstring).
      n_critic_in_step: take all `n_critic` critic updates inside each step, on
        its batch, then one generator update (see module docstring).
      ema_decay: if set, `ema_generator` tracks an exponential moving average
        of the generator weights, updated after each generator step. Its
        batch-norm statistics are its own: estimated on the step's noise with
        the averaged weights (the live generator's statistics do not fit them).
      augment: optional differentiable `augment(images, rng=...) -> images`
        applied to every image the discriminator sees during training
        (DiffAugment); `rng` is `noise_rng`, so a resumed run augments as an
        uninterrupted one does.
      noise_seed: seed of the noise generator, for reproducible runs.

    `fit` reports per-epoch means of d_loss, g_loss, d_real and d_fake (mean
    critic logits), em_estimate (d_real - d_fake), d_grad_norm and
    g_grad_norm; `loss_scale` and `g_loss_scale` under mixed_float16. G
    metrics average over generator updates only. The gradient norms are taken
    on every `grad_norm_every`-th step (1 unless a `MetricsLogger` sets it to
    the steps it writes): a norm reads every gradient once, ~2% of an MLP step.

    Besides the arguments, `ema_generator`, `d_optimizer`, `g_optimizer`,
    `critic_updates` (int64 variable: the step that keys `draw_noise`) and
    `noise_rng` (the `tf.random.Generator` behind the penalty's interpolation
    weights and the augmentations) are part of the state a checkpoint must hold.
    """

    family = "bce"
    option_names = ("real_target",)
    extra_metric_names = ()
    # What the console shows while training; every metric goes to TensorBoard and the history.
    console_metric_names = ("d_loss", "g_loss")

    def __init__(self, generator, discriminator, latent_dim=100, real_target=REAL_TARGET,
                 n_critic=1, n_critic_in_step=False, ema_decay=None, augment=None,
                 noise_seed=None, **kwargs):
        super().__init__(**kwargs)
        if int(n_critic) != n_critic or n_critic < 1:
            raise InputError(f"n_critic must be an integer >= 1, got {n_critic}")
        if real_target is not None and not 0.0 < real_target <= 1.0:
            raise InputError(f"real_target must be in (0, 1] or None, got {real_target}")
        if ema_decay is not None:
            ema.check_decay(ema_decay)
        if augment is not None and not callable(augment):
            raise TypeError(f"augment must be callable, got {augment!r}")
        self.generator = generator
        self.discriminator = discriminator
        self.latent_dim = int(latent_dim)
        self.real_target = real_target
        self.n_critic = int(n_critic)
        self.n_critic_in_step = bool(n_critic_in_step)
        self.ema_decay = ema_decay
        self.augment = augment
        self.noise_seed = noise_seed
        self.d_optimizer = None
        self.g_optimizer = None
        if not generator.built:
            generator.build((None, self.latent_dim))
        if not discriminator.built:
            discriminator.build(tuple(generator.compute_output_shape((None, self.latent_dim))))

        self.ema_generator = None if ema_decay is None else ema.averaged_copy(generator)
        # Counts critic steps (skipped float16 overflow steps included) so that
        # generator updates keep their phase across epochs and restores.
        self.critic_updates = self.add_weight(
            shape=(), dtype="int64", initializer="zeros", trainable=False,
            aggregation="only_first_replica", name="critic_updates")
        if noise_seed is None:
            self.noise_rng = tf.random.Generator.from_non_deterministic_state()
        else:
            self.noise_rng = tf.random.Generator.from_seed(noise_seed)
        self.noise_key = int(noise_seed if noise_seed is not None
                             else np.random.default_rng().integers(2**31))
        metric_names = ["d_loss", "g_loss", "d_real", "d_fake", "em_estimate",
                        "d_grad_norm", "g_grad_norm", *self.extra_metric_names,
                        *_LOSS_SCALE_METRICS]
        self.trackers = {name: keras.metrics.Mean(name=name) for name in metric_names}
        self.step_values = {name: LastValue(name=f"step_{name}") for name in metric_names}
        self.grad_norm_every = 1
        self.built = True  # every weight exists before the first step

    def compile(self, d_optimizer, g_optimizer, **kwargs):
        """Set one optimizer per network and create their variables now.

        Under the mixed_float16 policy each optimizer is wrapped in a
        `LossScaleOptimizer` (unless it already is one): the loss is scaled
        in the tape and `apply_gradients` unscales the gradients and skips
        steps whose gradients are not finite.
        """
        if d_optimizer is g_optimizer:
            raise InputError("d_optimizer and g_optimizer must be two distinct optimizers")
        super().compile(**kwargs)
        with self.distribute_strategy.scope():
            self.d_optimizer = loss_scaling.with_loss_scaling(d_optimizer)
            self.g_optimizer = loss_scaling.with_loss_scaling(g_optimizer)
            self.d_optimizer.build(self.discriminator.trainable_variables)
            self.g_optimizer.build(self.generator.trainable_variables)

    def get_compile_config(self):
        if self.d_optimizer is None:
            return None
        return {"d_optimizer": keras.optimizers.serialize(self.d_optimizer),
                "g_optimizer": keras.optimizers.serialize(self.g_optimizer)}

    def compile_from_config(self, config):
        self.compile(d_optimizer=keras.optimizers.deserialize(config["d_optimizer"]),
                     g_optimizer=keras.optimizers.deserialize(config["g_optimizer"]))

    @property
    def loss_scaled(self):
        """Whether an optimizer scales the loss (mixed_float16)."""
        return any(loss_scaling.scales_loss(optimizer)
                   for optimizer in (self.d_optimizer, self.g_optimizer))

    @property
    def metrics(self):
        return [tracker for name, tracker in self.trackers.items()
                if self.loss_scaled or name not in _LOSS_SCALE_METRICS]

    # Adversarial objective: what the subclasses override.

    def discriminator_loss(self, real_logits, fake_logits):
        target = 1.0 if self.real_target is None else self.real_target
        return losses.bce_d_loss(real_logits, fake_logits, real_target=target)

    def generator_loss(self, fake_logits):
        return losses.bce_g_loss(fake_logits)

    def critic_objective(self, real_images, fake_images, real_logits, fake_logits):
        """Critic loss and extra metrics, given the (augmented) images it saw."""
        return self.discriminator_loss(real_logits, fake_logits), {}

    def after_critic_update(self):
        """Hook run after each critic update (weight clipping in WGAN)."""

    # Training loop.

    def draw_noise(self, batch_size, stream=0):
        """z ~ N(0, I) of shape (batch_size, latent_dim) for this step and `stream`
        (0: the critic's fakes, 1: the generator update's).

        Drawn for the whole global batch from the key (noise seed, step, stream), of which
        each replica keeps its own rows: a run's noise does not depend on how its batch is
        split over replicas and workers, and a resumed run draws what an uninterrupted one
        draws (the step is checkpointed).
        """
        replicas = tf.distribute.get_strategy().num_replicas_in_sync
        counter = 2 * self.critic_updates + stream
        seed = tf.stack([tf.constant(self.noise_key, tf.int64), counter])
        noise = tf.random.stateless_normal((batch_size * replicas, self.latent_dim), seed)
        return local_rows(noise, batch_size)

    def _discriminator_view(self, images):
        return images if self.augment is None else self.augment(images, rng=self.noise_rng)

    def _record(self, name, value, sample_weight=None):
        self.trackers[name].update_state(value, sample_weight=sample_weight)
        self.step_values[name].update_state(value)

    def _apply(self, tape, scaled_loss, optimizer, variables, norm_name):
        """Apply the gradients; on every `grad_norm_every`-th step (counted by
        `critic_updates`, already advanced for this step) record their norm."""
        grads = tape.gradient(scaled_loss, variables)
        optimizer.apply_gradients(zip(grads, variables))
        if self.grad_norm_every == 1:
            self._record_norm(grads, optimizer, norm_name)
        else:
            run_if(tf.equal(self.critic_updates % self.grad_norm_every, 0),
                   self._record_norm, grads, optimizer, norm_name)

    def _record_norm(self, grads, optimizer, norm_name):
        """Record the gradients' norm as if for this replica's mean loss; the epoch
        means leave out steps skipped by loss scaling."""
        norm = loss_scaling.gradient_norm(grads, optimizer)
        finite = tf.math.is_finite(norm)
        self._record(norm_name, tf.where(finite, norm, 0.0), tf.cast(finite, tf.float32))

    def train_critic(self, real_images):
        """One critic update on `real_images` against fresh fakes."""
        fake_images = self.generator(
            self.draw_noise(tf.shape(real_images)[0]), training=True)
        real_view = self._discriminator_view(real_images)
        fake_view = self._discriminator_view(fake_images)
        variables = self.discriminator.trainable_variables
        with tf.GradientTape() as tape:
            real_logits = _as_float32(self.discriminator(real_view, training=True))
            fake_logits = _as_float32(self.discriminator(fake_view, training=True))
            loss, extras = self.critic_objective(
                real_view, fake_view, real_logits, fake_logits)
            scaled_loss = loss_scaling.scaled_loss(loss, self.d_optimizer)
        self.critic_updates.assign_add(1)
        self._apply(tape, scaled_loss, self.d_optimizer, variables, "d_grad_norm")
        self.after_critic_update()

        d_real = tf.reduce_mean(real_logits)
        d_fake = tf.reduce_mean(fake_logits)
        values = {"d_loss": loss, "d_real": d_real, "d_fake": d_fake,
                  "em_estimate": d_real - d_fake, **extras}
        if self.loss_scaled:
            values["loss_scale"] = loss_scaling.loss_scale(self.d_optimizer)
        for name, value in values.items():
            self._record(name, value)

    def train_generator(self, batch_size):
        """One generator update on fresh noise, then the EMA update."""
        noise = self.draw_noise(batch_size, stream=1)
        variables = self.generator.trainable_variables
        with tf.GradientTape() as tape:
            fake_images = self.generator(noise, training=True)
            fake_logits = _as_float32(self.discriminator(
                self._discriminator_view(fake_images), training=True))
            loss = self.generator_loss(fake_logits)
            scaled_loss = loss_scaling.scaled_loss(loss, self.g_optimizer)
        self._apply(tape, scaled_loss, self.g_optimizer, variables, "g_grad_norm")
        self._record("g_loss", loss)
        if self.loss_scaled:
            self._record("g_loss_scale", loss_scaling.loss_scale(self.g_optimizer))
        if self.ema_generator is not None:
            self.update_ema(noise)

    def update_ema(self, noise):
        """Move `ema_generator` towards the generator, then refresh its batch-norm
        statistics on `noise` (see `ema.update`)."""
        ema.update(self.ema_generator, self.generator, self.ema_decay, noise)

    def train_step(self, data):
        """One critic update and a generator update every `n_critic` steps, or with
        `n_critic_in_step` `n_critic` critic updates and one generator update."""
        real_images, _, _ = keras.utils.unpack_x_y_sample_weight(data)
        batch_size = tf.shape(real_images)[0]
        critic_updates = self.n_critic if self.n_critic_in_step else 1
        for _ in range(critic_updates):  # unrolled: a Python int
            self.train_critic(real_images)
        if critic_updates == self.n_critic:
            self.train_generator(batch_size)
        else:
            generator_turn = tf.equal(self.critic_updates % self.n_critic, 0)
            run_if(generator_turn, self.train_generator, batch_size)
        return reducible({tracker.name: tracker.result() for tracker in self.metrics})

    # Inference.

    def generate(self, z, training=False):
        """Images for latent vectors `z`, from the EMA generator if there is one."""
        generator = self.ema_generator if self.ema_generator is not None else self.generator
        return _as_float32(generator(z, training=training))

    def sample(self, num, seed=0):
        """`num` images for the latent vectors of `seed`: the images an export of this
        model draws for that seed (see `sampling`)."""
        return sampling.generate(self.generate, self.latent_dim, num, seed)

    def call(self, z, training=False):
        return self.generate(z, training=training)

    # Serialization.

    def get_config(self):
        """Everything but `augment`, which is code: pass it again to resume training."""
        return {
            "name": self.name,
            "generator": keras.saving.serialize_keras_object(self.generator),
            "discriminator": keras.saving.serialize_keras_object(self.discriminator),
            "latent_dim": self.latent_dim, "n_critic": self.n_critic,
            "n_critic_in_step": self.n_critic_in_step,
            "ema_decay": self.ema_decay, "noise_seed": self.noise_seed,
            **{option: getattr(self, option) for option in self.option_names},
        }

    @classmethod
    def from_config(cls, config):
        config = dict(config)
        for network in ("generator", "discriminator"):
            config[network] = keras.saving.deserialize_keras_object(config[network])
        return cls(**config)


@keras.saving.register_keras_serializable(package="tfgan_replica")
class HingeGAN(GAN):
    """Hinge loss (Lim & Ye 2017), as used with spectral normalization."""

    family = "hinge"
    option_names = ()

    def __init__(self, generator, discriminator, **kwargs):
        super().__init__(generator, discriminator, real_target=None, **kwargs)

    def discriminator_loss(self, real_logits, fake_logits):
        return losses.hinge_d_loss(real_logits, fake_logits)

    def generator_loss(self, fake_logits):
        return losses.hinge_g_loss(fake_logits)


class _WassersteinGAN(GAN):
    """Wasserstein losses; subclasses keep the critic (roughly) 1-Lipschitz."""

    # A (roughly) 1-Lipschitz critic makes d_real - d_fake an estimate of the EM distance.
    console_metric_names = (*GAN.console_metric_names, "em_estimate")

    def __init__(self, generator, discriminator, n_critic=5, **kwargs):
        super().__init__(generator, discriminator, real_target=None,
                         n_critic=n_critic, **kwargs)

    def discriminator_loss(self, real_logits, fake_logits):
        return losses.wasserstein_d_loss(real_logits, fake_logits)

    def generator_loss(self, fake_logits):
        return losses.wasserstein_g_loss(fake_logits)


@keras.saving.register_keras_serializable(package="tfgan_replica")
class WGANClip(_WassersteinGAN):
    """WGAN of Arjovsky et al. 2017: critic weights clipped to [-c, c].

    Clipping follows every critic update; the paper pairs it with RMSProp
    (momentum-based optimizers were unstable with clipping).
    """

    family = "wgan_clip"
    option_names = ("clip_value",)

    def __init__(self, generator, discriminator, clip_value=0.01, **kwargs):
        if not clip_value > 0:
            raise InputError(f"clip_value must be > 0, got {clip_value}")
        self.clip_value = float(clip_value)
        super().__init__(generator, discriminator, **kwargs)

    def after_critic_update(self):
        limit = self.clip_value
        assign_each(self.discriminator.trainable_variables,
                     lambda weight: tf.clip_by_value(weight, -limit, limit))


@keras.saving.register_keras_serializable(package="tfgan_replica")
class WGANGP(_WassersteinGAN):
    """WGAN-GP of Gulrajani et al. 2017: a gradient penalty instead of clipping.

    The penalty is taken on interpolates of the images the critic actually
    saw, i.e. after augmentation when `augment` is set.
    """

    family = "wgan_gp"
    option_names = ("gp_weight",)
    extra_metric_names = ("gradient_penalty",)

    def __init__(self, generator, discriminator, gp_weight=10.0, **kwargs):
        if not gp_weight >= 0:
            raise InputError(f"gp_weight must be >= 0, got {gp_weight}")
        self.gp_weight = float(gp_weight)
        super().__init__(generator, discriminator, **kwargs)

    def critic_objective(self, real_images, fake_images, real_logits, fake_logits):
        loss, extras = super().critic_objective(
            real_images, fake_images, real_logits, fake_logits)
        penalty, _ = losses.gradient_penalty(
            self.discriminator, real_images, fake_images, rng=self.noise_rng)
        return loss + self.gp_weight * penalty, {**extras, "gradient_penalty": penalty}


FAMILIES = {model.family: model for model in (GAN, HingeGAN, WGANClip, WGANGP)}
COMMON_OPTIONS = ("latent_dim", "n_critic", "n_critic_in_step", "ema_decay", "augment",
                  "noise_seed", "name")


def make_gan(family, generator, discriminator, **options):
    """Build the GAN of `family` ('bce', 'hinge', 'wgan_clip' or 'wgan_gp').

    Options of another family (say `clip_value` for 'wgan_gp') are rejected
    rather than silently ignored.
    """
    if family not in FAMILIES:
        raise InputError(f"unknown GAN family {family!r}; choose one of {sorted(FAMILIES)}")
    model_class = FAMILIES[family]
    allowed = set(COMMON_OPTIONS) | set(model_class.option_names)
    for option in sorted(set(options) - allowed):
        owners = [name for name, cls in FAMILIES.items() if option in cls.option_names]
        where = f"an option of family {owners[0]!r}" if owners else "an unknown option"
        raise InputError(f"{option!r} is {where}; family {family!r} takes {sorted(allowed)}")
    return model_class(generator, discriminator, **options)
