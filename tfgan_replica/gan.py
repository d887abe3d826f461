"""GAN models whose `train_step` alternates critic and generator updates.

`GAN` trains with any adversarial loss of `losses.LOSSES`, given by name
(`GAN(generator, discriminator, loss="hinge")`). `WGANClip` and `WGANGP` change the
critic step itself, so that the Wasserstein loss holds: weights clipped after each
critic update, or a gradient penalty in the critic loss. `make_gan` builds the model
and loss of a preset's `family`. The generator's moving average is in `ema`, the
mixed_float16 loss scaling in `loss_scaling`, the metrics a step records in
`training_metrics`.

One `train_step` is one critic iteration: the discriminator (critic) is
updated on the fresh real batch it is given, and the generator is updated
after every `n_critic`-th critic update. With `n_critic=1` both networks are
updated on every step; with `n_critic=5` an epoch of N batches makes N critic
updates and N // 5 generator updates, as in Arjovsky et al. (each critic
update sees new real data). With `n_critic_in_step=True` a step instead makes
`n_critic` critic updates on its one batch (fresh fakes each time) and then a
generator update: Algorithm 1 put into a loop of one step per batch, as the
TensorFlow tutorial's loop would hold it (N generator updates an epoch). With
`simultaneous=True` (n_critic 1 only) a step is the TensorFlow DCGAN tutorial's own:
one forward pass gives both losses, the generator's from the very fakes the critic
is trained on, and both gradients are taken before either network moves.

Losses are per-replica batch means divided by the number of replicas, so
that the optimizers' sum of replica gradients is the gradient of the
global-batch mean (the convention Keras uses for compiled losses).
"""

import keras
import numpy as np
import tensorflow as tf

from tfgan_replica import ema, loss_scaling, losses, sampling
from tfgan_replica.errors import InputError
from tfgan_replica.replicas import assign_each, local_rows, reducible, run_if
from tfgan_replica.training_metrics import TrainingMetrics

# The values a model's numeric options may take (as the message words it); its
# constructor and `check_options` apply them.
_VALID = {
    "n_critic": (lambda n: n >= 1 and int(n) == n, ">= 1 (an integer)"),
    "real_target": (lambda target: 0.0 < target <= 1.0, "in (0, 1]"),
    "clip_value": (lambda clip: clip > 0, "> 0"),
    "gp_weight": (lambda weight: weight > 0, "> 0"),
    "r1_gamma": (lambda gamma: gamma > 0, "> 0"),
}


def _checked(option, value):
    valid, rule = _VALID[option]
    if not valid(value):
        raise InputError(f"{option} must be {rule}, got {value}")
    return value


def _check_update_order(n_critic, n_critic_in_step, simultaneous):
    if simultaneous and (n_critic != 1 or n_critic_in_step):
        raise InputError(f"simultaneous updates take one critic update a step: set n_critic "
                         f"to 1 and n_critic_in_step to False (got {n_critic}, "
                         f"{n_critic_in_step})")


def _as_float32(tensor):
    return tf.cast(tensor, tf.float32)


class GANBase(keras.Model):
    """What every GAN model holds besides its training step: the networks and the
    generator's moving average, one optimizer per network, the counter and random state a
    run resumes from, sampling and serialization.

    Args:
      generator: model mapping (batch, latent_dim) noise to images.
      discriminator: model mapping images to float32 logits (batch, 1).
      latent_dim: size of the N(0, I) noise vector.
      ema_decay: if set, `ema_generator` tracks an exponential moving average
        of the generator weights, updated after each generator step. Its
        batch-norm statistics are its own: estimated on the step's noise with
        the averaged weights (the live generator's statistics do not fit them).
      noise_seed: seed of the noise generator, for reproducible runs.

    Besides the arguments, `ema_generator`, `d_optimizer`, `g_optimizer`,
    `critic_updates` (int64 variable: the step that keys the training noise) and
    `noise_rng` (the `tf.random.Generator` behind the penalty's interpolation
    weights and the augmentations) are part of the state a checkpoint must hold.
    """

    def __init__(self, generator, discriminator, latent_dim=100, ema_decay=None,
                 noise_seed=None, **kwargs):
        super().__init__(**kwargs)
        if ema_decay is not None:
            ema.check_decay(ema_decay)
        self.generator = generator
        self.discriminator = discriminator
        self.latent_dim = int(latent_dim)
        self.ema_decay = ema_decay
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

    @property
    def loss_scaled(self):
        """Whether an optimizer scales the loss (mixed_float16)."""
        return any(loss_scaling.scales_loss(optimizer)
                   for optimizer in (self.d_optimizer, self.g_optimizer))

    def update_ema(self, noise):
        """Move `ema_generator` towards the generator, then refresh its batch-norm
        statistics on `noise` (see `ema.update`)."""
        ema.update(self.ema_generator, self.generator, self.ema_decay, noise)

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
        return {
            "name": self.name,
            "generator": keras.saving.serialize_keras_object(self.generator),
            "discriminator": keras.saving.serialize_keras_object(self.discriminator),
            "latent_dim": self.latent_dim, "ema_decay": self.ema_decay,
            "noise_seed": self.noise_seed,
        }

    @classmethod
    def from_config(cls, config):
        config = dict(config)
        for network in ("generator", "discriminator"):
            config[network] = keras.saving.deserialize_keras_object(config[network])
        return cls(**config)

    def get_compile_config(self):
        if self.d_optimizer is None:
            return None
        return {"d_optimizer": keras.optimizers.serialize(self.d_optimizer),
                "g_optimizer": keras.optimizers.serialize(self.g_optimizer)}

    def compile_from_config(self, config):
        self.compile(d_optimizer=keras.optimizers.deserialize(config["d_optimizer"]),
                     g_optimizer=keras.optimizers.deserialize(config["g_optimizer"]))


@keras.saving.register_keras_serializable(package="tfgan_replica")
class GAN(GANBase):
    """A generator and a discriminator trained with an adversarial loss.

    Args:
      generator, discriminator, latent_dim, ema_decay, noise_seed: see `GANBase`.
      loss: name of the (critic, generator) loss pair in `losses.LOSSES`.
      real_target: label of real images, for a loss with labels ('bce'); 0.9 is
        one-sided label smoothing, None (the default) the loss's own 1.0.
      n_critic: critic updates per generator update (see module docstring).
      n_critic_in_step: take all `n_critic` critic updates inside each step, on
        its batch, then one generator update (see module docstring).
      simultaneous: update both networks from one forward pass, the tutorial's step
        (see module docstring); needs n_critic 1.
      r1_gamma: if set, the critic loss gains r1_gamma / 2 * R1 (`losses.r1_penalty`,
        on the real images as the critic sees them), logged as r1_penalty.
      augment: optional differentiable `augment(images, rng=...) -> images`
        applied to every image the discriminator sees during training
        (DiffAugment); `rng` is `noise_rng`, so a resumed run augments as an
        uninterrupted one does.
      grad_norm_every: the interval, in train steps, of the steps whose metrics are
        logged (`callbacks.MetricsLogger` reads it): gradient norms are taken on those.

    `fit` reports per-epoch means of the `training_metrics` (d_loss, g_loss, ...).
    """

    option_names = ()  # the options of a subclass's own step
    extra_metric_names = ()

    def __init__(self, generator, discriminator, loss="bce", latent_dim=100, real_target=None,
                 n_critic=1, n_critic_in_step=False, simultaneous=False, r1_gamma=None,
                 ema_decay=None, augment=None, noise_seed=None, grad_norm_every=1, **kwargs):
        if real_target is not None:
            _checked("real_target", real_target)
        if r1_gamma is not None:
            _checked("r1_gamma", r1_gamma)
        _check_update_order(n_critic, n_critic_in_step, simultaneous)
        if augment is not None and not callable(augment):
            raise TypeError(f"augment must be callable, got {augment!r}")
        super().__init__(generator, discriminator, latent_dim, ema_decay, noise_seed, **kwargs)
        self.loss_name = loss
        self.gan_loss = losses.get(loss, real_target=real_target)
        self.real_target = real_target
        self.n_critic = int(_checked("n_critic", n_critic))
        self.n_critic_in_step = bool(n_critic_in_step)
        self.simultaneous = bool(simultaneous)
        self.r1_gamma = r1_gamma
        self.augment = augment
        self.training_metrics = TrainingMetrics(
            (*self.extra_metric_names, *(("r1_penalty",) if r1_gamma else ())), grad_norm_every)

    @property
    def grad_norm_every(self):
        return self.training_metrics.grad_norm_every

    @property
    def metrics(self):
        return self.training_metrics.trackers(self.loss_scaled)

    @property
    def console_metric_names(self):
        """What the console shows while training (every metric goes to TensorBoard and the
        history): the losses, and d_real - d_fake where it estimates the EM distance."""
        return ("d_loss", "g_loss", *(("em_estimate",) if self.gan_loss.lipschitz else ()))

    @property
    def critic_updates_per_step(self):
        return self.n_critic if self.n_critic_in_step else 1

    @property
    def train_steps(self):
        """Train steps (batches) taken, the one under way included: the global step of the
        callbacks, which the logging interval counts."""
        return -(-self.critic_updates // self.critic_updates_per_step)

    # What the subclasses change in the critic step.

    def critic_objective(self, real_images, fake_images, real_logits, fake_logits):
        """Critic loss and extra metrics, given the (augmented) images it saw."""
        loss = self.gan_loss.d(real_logits, fake_logits)
        if not self.r1_gamma:
            return loss, {}
        penalty = losses.r1_penalty(self.discriminator, real_images)
        return loss + 0.5 * self.r1_gamma * penalty, {"r1_penalty": penalty}

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

    def _apply(self, grads, optimizer, variables, norm_name):
        optimizer.apply_gradients(zip(grads, variables))
        self.training_metrics.record_grad_norm(norm_name, grads, optimizer, self.train_steps)

    def _critic_loss(self, real_images, fake_images):
        """(fake logits, values to record) of the critic on real and fake images, augmented
        as it sees them; the loss is `values["d_loss"]`."""
        real_view = self._discriminator_view(real_images)
        fake_view = self._discriminator_view(fake_images)
        real_logits = _as_float32(self.discriminator(real_view, training=True))
        fake_logits = _as_float32(self.discriminator(fake_view, training=True))
        loss, extras = self.critic_objective(real_view, fake_view, real_logits, fake_logits)
        d_real = tf.reduce_mean(real_logits)
        d_fake = tf.reduce_mean(fake_logits)
        return fake_logits, {"d_loss": loss, "d_real": d_real, "d_fake": d_fake,
                             "em_estimate": d_real - d_fake, **extras}

    def _generator_loss(self, fake_logits):
        loss = self.gan_loss.g(fake_logits)
        return loss, loss_scaling.scaled_loss(loss, self.g_optimizer)

    def _record_critic(self, values):
        if self.loss_scaled:
            values["loss_scale"] = loss_scaling.loss_scale(self.d_optimizer)
        for name, value in values.items():
            self.training_metrics.record(name, value)

    def _record_generator(self, loss, noise):
        """The generator update's metrics, then the EMA update."""
        self.training_metrics.record("g_loss", loss)
        if self.loss_scaled:
            self.training_metrics.record("g_loss_scale", loss_scaling.loss_scale(self.g_optimizer))
        if self.ema_generator is not None:
            self.update_ema(noise)

    def train_critic(self, real_images):
        """One critic update on `real_images` against fresh fakes."""
        fake_images = self.generator(
            self.draw_noise(tf.shape(real_images)[0]), training=True)
        variables = self.discriminator.trainable_variables
        with tf.GradientTape() as tape:
            _, values = self._critic_loss(real_images, fake_images)
            scaled_loss = loss_scaling.scaled_loss(values["d_loss"], self.d_optimizer)
        self.critic_updates.assign_add(1)
        self._apply(tape.gradient(scaled_loss, variables), self.d_optimizer, variables,
                    "d_grad_norm")
        self.after_critic_update()
        self._record_critic(values)

    def train_generator(self, batch_size):
        """One generator update on fresh noise, then the EMA update."""
        noise = self.draw_noise(batch_size, stream=1)
        variables = self.generator.trainable_variables
        with tf.GradientTape() as tape:
            fake_images = self.generator(noise, training=True)
            fake_logits = _as_float32(self.discriminator(
                self._discriminator_view(fake_images), training=True))
            loss, scaled_loss = self._generator_loss(fake_logits)
        self._apply(tape.gradient(scaled_loss, variables), self.g_optimizer, variables,
                    "g_grad_norm")
        self._record_generator(loss, noise)

    def train_together(self, real_images):
        """The tutorial's step: both losses from one forward pass, both gradients taken at
        the weights of that pass, then both applied."""
        noise = self.draw_noise(tf.shape(real_images)[0])
        d_variables = self.discriminator.trainable_variables
        g_variables = self.generator.trainable_variables
        with tf.GradientTape() as d_tape, tf.GradientTape() as g_tape:
            fake_images = self.generator(noise, training=True)
            fake_logits, values = self._critic_loss(real_images, fake_images)
            d_scaled_loss = loss_scaling.scaled_loss(values["d_loss"], self.d_optimizer)
            g_loss, g_scaled_loss = self._generator_loss(fake_logits)
        d_grads = d_tape.gradient(d_scaled_loss, d_variables)
        g_grads = g_tape.gradient(g_scaled_loss, g_variables)
        self.critic_updates.assign_add(1)
        self._apply(g_grads, self.g_optimizer, g_variables, "g_grad_norm")
        self._apply(d_grads, self.d_optimizer, d_variables, "d_grad_norm")
        self.after_critic_update()
        self._record_critic(values)
        self._record_generator(g_loss, noise)

    def train_step(self, data):
        """One critic update and a generator update every `n_critic` steps, or with
        `n_critic_in_step` `n_critic` critic updates and one generator update, or with
        `simultaneous` both networks updated from one forward pass."""
        real_images, _, _ = keras.utils.unpack_x_y_sample_weight(data)
        if self.simultaneous:
            self.train_together(real_images)
        else:
            for _ in range(self.critic_updates_per_step):  # unrolled: a Python int
                self.train_critic(real_images)
            batch_size = tf.shape(real_images)[0]
            if self.critic_updates_per_step == self.n_critic:
                self.train_generator(batch_size)
            else:
                generator_turn = tf.equal(self.critic_updates % self.n_critic, 0)
                run_if(generator_turn, self.train_generator, batch_size)
        return reducible({tracker.name: tracker.result() for tracker in self.metrics})

    def get_config(self):
        """Everything but `augment`, which is code: pass it again to resume training."""
        own = ("real_target", "n_critic", "n_critic_in_step", "simultaneous", "r1_gamma",
               "grad_norm_every",
               *self.option_names)
        return {**super().get_config(), "loss": self.loss_name,
                **{option: getattr(self, option) for option in own}}


@keras.saving.register_keras_serializable(package="tfgan_replica")
class HingeGAN(GAN):
    """`GAN(loss="hinge")` under the class name its models were saved with before
    `losses.LOSSES` held the losses, so that those files load."""

    def __init__(self, generator, discriminator, **kwargs):
        super().__init__(generator, discriminator, **{"loss": "hinge", **kwargs})


@keras.saving.register_keras_serializable(package="tfgan_replica")
class WGANClip(GAN):
    """WGAN of Arjovsky et al. 2017: critic weights clipped to [-c, c].

    Clipping follows every critic update; the paper pairs it with RMSProp
    (momentum-based optimizers were unstable with clipping).
    """

    option_names = ("clip_value",)

    def __init__(self, generator, discriminator, clip_value=0.01, loss="wasserstein",
                 n_critic=5, **kwargs):
        self.clip_value = float(_checked("clip_value", clip_value))
        super().__init__(generator, discriminator, loss=loss, n_critic=n_critic, **kwargs)

    def after_critic_update(self):
        limit = self.clip_value
        assign_each(self.discriminator.trainable_variables,
                    lambda weight: tf.clip_by_value(weight, -limit, limit))


@keras.saving.register_keras_serializable(package="tfgan_replica")
class WGANGP(GAN):
    """WGAN-GP of Gulrajani et al. 2017: a gradient penalty instead of clipping.

    The penalty is taken on interpolates of the images the critic actually
    saw, i.e. after augmentation when `augment` is set.
    """

    option_names = ("gp_weight",)
    extra_metric_names = ("gradient_penalty",)

    def __init__(self, generator, discriminator, gp_weight=10.0, loss="wasserstein",
                 n_critic=5, **kwargs):
        self.gp_weight = float(_checked("gp_weight", gp_weight))
        super().__init__(generator, discriminator, loss=loss, n_critic=n_critic, **kwargs)

    def critic_objective(self, real_images, fake_images, real_logits, fake_logits):
        loss, extras = super().critic_objective(
            real_images, fake_images, real_logits, fake_logits)
        penalty, _ = losses.gradient_penalty(
            self.discriminator, real_images, fake_images, rng=self.noise_rng)
        return loss + self.gp_weight * penalty, {**extras, "gradient_penalty": penalty}


# A preset's `family`: a loss of `losses.LOSSES` trained by `GAN`, or the Wasserstein
# loss with the critic step that keeps its critic Lipschitz. Each is (model, loss).
FAMILIES = {
    **{name: (GAN, name) for name, loss in losses.LOSSES.items() if not loss.lipschitz},
    "wgan_clip": (WGANClip, "wasserstein"),
    "wgan_gp": (WGANGP, "wasserstein"),
}
COMMON_OPTIONS = ("latent_dim", "n_critic", "n_critic_in_step", "simultaneous", "r1_gamma",
                  "ema_decay", "augment", "noise_seed", "grad_norm_every", "name")


def _options_of(family):
    model_class, loss = FAMILIES[family]
    return {*COMMON_OPTIONS, *model_class.option_names, *losses.LOSSES[loss].options}


def check_options(family, options):
    """Rejects an unknown `family`, `options` it does not take (say `clip_value` for
    'wgan_gp': rather than ignore them) and values it cannot train with. `make_gan`
    checks with it, and so does a preset before any work."""
    if family not in FAMILIES:
        raise InputError(f"unknown family {family!r}; choose one of {sorted(FAMILIES)}")
    allowed = _options_of(family)
    for option in sorted(set(options) - allowed):
        owners = [name for name in FAMILIES if option in _options_of(name)]
        where = f"applies only to the {owners[0]!r} family" if owners else "is an unknown option"
        raise InputError(f"{option!r} {where}; family {family!r} takes {sorted(allowed)}")
    for option, value in sorted(options.items()):
        if option in _VALID and value is not None:
            _checked(option, value)
    _check_update_order(options.get("n_critic", 1), options.get("n_critic_in_step", False),
                        options.get("simultaneous", False))
    if options.get("ema_decay") is not None:
        ema.check_decay(options["ema_decay"])


def make_gan(family, generator, discriminator, **options):
    """The model of `family` (see `FAMILIES`) with `options`, checked by `check_options`."""
    check_options(family, options)
    model_class, loss = FAMILIES[family]
    return model_class(generator, discriminator, loss=loss, **options)
